// Deploy keys: ssh2's ed25519 generator drops a public key's leading zero bytes about 1 time in 256
// (mscdex/ssh2#1513), and such a pair can't be read back. Over 3000 draws, about 12 would fail to parse
// if the provider did not draw those again.
import { strict as assert } from "assert";
import { utils } from "ssh2";
import { generateDeployKey } from "../../../provider/deploy/keyPair";

describe("generateDeployKey", () => {
  it("gives only pairs whose private and public halves both parse and agree (3000 draws)", () => {
    for (let i = 0; i < 3000; i++) {
      const { privateKey, publicKey } = generateDeployKey("launchpad-test");
      const parsedPrivate = utils.parseKey(privateKey);
      const parsedPublic = utils.parseKey(publicKey);
      assert.ok(!(parsedPrivate instanceof Error), `draw ${i}: the private key does not parse: ${String(parsedPrivate)}`);
      assert.ok(!(parsedPublic instanceof Error), `draw ${i}: the public key does not parse: ${String(parsedPublic)}`);
      const priv = Array.isArray(parsedPrivate) ? parsedPrivate[0] : parsedPrivate;
      const pub = Array.isArray(parsedPublic) ? parsedPublic[0] : parsedPublic;
      assert.ok(priv.getPublicSSH().equals(pub.getPublicSSH()), `draw ${i}: the halves disagree`);
      assert.match(publicKey, /^ssh-ed25519 [A-Za-z0-9+/]+=* launchpad-test$/);
    }
  });
});
