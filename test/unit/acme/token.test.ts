// The HTTP-01 token an ACME server sends becomes a file name under nginx's webroot: only base64url
// text of a sane length passes (RFC 8555 §8.3), so no server can make the provider write elsewhere.
import * as assert from "assert";
import { checkedToken } from "../../../provider/acme/apply";
import { isLaunchpadError } from "../../../provider/errors";

describe("AcmeCertificate HTTP-01 token", () => {
  it("takes base64url tokens of 16 to 256 characters as they are", () => {
    for (const token of ["AZaz09_-AZaz09_-", "abcdefghijklmnop", "ABCDEFGHIJKLMNOP", "0123456789012345", "________--------", "x".repeat(256),
      "LoqXcYV8q5ONbJQxbmR7SCTNo3tiAXDfowyjxAjEuX0"]) {
      assert.strictEqual(checkedToken(token), token, token);
    }
  });

  it("refuses a token that could leave the challenge directory, or is too short or too long, quoting its start", () => {
    const good = "a".repeat(20);
    for (const token of [`../${good}`, `${good}/..`, `${good}/x`, `${good}.`, `${good} `, `${good}\n`, `${good}=`, "a".repeat(15), "a".repeat(257), ""]) {
      assert.throws(() => checkedToken(token), (error: Error) => {
        assert.ok(isLaunchpadError(error, "ERR_ACME"), String(error));
        assert.strictEqual(error.message, `the ACME server sent a token that is not base64url: ${token.slice(0, 40)}`);
        return true;
      }, JSON.stringify(token));
    }
    assert.throws(() => checkedToken(`/${"b".repeat(60)}`), { message: `the ACME server sent a token that is not base64url: /${"b".repeat(39)}` });
  });
});
