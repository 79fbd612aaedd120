// ContainerDeployment's check, rule by rule: the messages the cross-field rules give, values unknown during
// a preview (nested ones too) that hand back the raw inputs, the fingerprint's padding, and the refusal of
// an application container naming what runs in it.
import * as assert from "assert";
import { diffDeployment, parseDeploymentInputs, UNKNOWN } from "../../../provider/deploy";
import { publicKeyOf } from "../../../provider/deploy/keyPair";

const KEY = "-----BEGIN OPENSSH PRIVATE KEY-----\nabc\n-----END OPENSSH PRIVATE KEY-----";
const valid = { host: "10.0.0.5", privateKey: KEY, commands: ["make deploy"] };
const DEFAULTS = { port: 22, user: "root", env: {}, connectTimeoutSeconds: 120 };
const FP = "SHA256:" + "a".repeat(42) + "Q";
const jump = (extra: Record<string, unknown> = {}) => ({ host: "proxy", user: "u", hostKeyFingerprint: FP, ...extra });

function problems(raw: Record<string, unknown>) {
  const result = parseDeploymentInputs(raw);
  assert.ok(!result.ok, "expected problems");
  return result.problems;
}

describe("ContainerDeployment check rules", () => {
  it("drops the base64 padding of a pinned fingerprint, all of it", () => {
    for (const padding of ["=", "==", ""]) {
      const result = parseDeploymentInputs({ ...valid, hostKeyFingerprint: FP + padding });
      assert.ok(result.ok);
      assert.strictEqual(result.inputs.hostKeyFingerprint, FP, JSON.stringify(padding));
    }
    assert.deepStrictEqual(problems({ ...valid, hostKeyFingerprint: `SHA256:${"a".repeat(20)}=${"a".repeat(22)}` }).map((p) => p.property), ["hostKeyFingerprint"]);
  });

  it("says a jump host takes a key or an agent, not both, and only when both are known", () => {
    assert.deepStrictEqual(problems({ ...valid, jump: jump({ privateKey: KEY, agent: "/run/agent" }) }),
      [{ property: "jump.agent", reason: "Only one of `jump.privateKey` and `jump.agent` can be given" }]);
    for (const [privateKey, agent] of [[KEY, undefined], [undefined, "/run/agent"], [UNKNOWN, "/run/agent"], [KEY, UNKNOWN]]) {
      const result = parseDeploymentInputs({ ...valid, jump: jump({ privateKey, agent }) });
      assert.ok(result.ok, JSON.stringify({ privateKey, agent }));
    }
    assert.deepStrictEqual(problems({ ...valid, jump: "proxy" }).map((p) => p.property), ["jump"]);
  });

  it("hands back the raw inputs while a value is unknown, at any depth, and the parsed ones otherwise", () => {
    for (const unknownAt of [{ host: UNKNOWN }, { commands: ["make", UNKNOWN] }, { env: { TOKEN: UNKNOWN } }, { jump: jump({ privateKey: KEY, host: UNKNOWN }) }]) {
      const raw = { ...valid, ...unknownAt };
      const result = parseDeploymentInputs(raw);
      assert.ok(result.ok, JSON.stringify(unknownAt));
      assert.deepStrictEqual(result.inputs, raw, JSON.stringify(unknownAt));
    }
    const known = parseDeploymentInputs({ ...valid, commands: ["make", "make test"], env: { A: "1" }, jump: jump({ privateKey: KEY }) });
    assert.ok(known.ok);
    assert.deepStrictEqual(known.inputs, { ...valid, ...DEFAULTS, commands: ["make", "make test"], env: { A: "1" }, jump: { ...jump({ privateKey: KEY }), port: 22 } });
  });

  it("refuses an application container, naming its VMID and entrypoint when known", () => {
    const [named] = problems({ ...valid, containerKind: "application", vmid: 123, containerInitCommand: "node server.js" });
    assert.strictEqual(named.property, "containerKind");
    assert.match(named.reason, /CT 123 is an application container: its image's entrypoint `node server\.js` runs instead of/);
    assert.match(named.reason, /and drop `deploy`\.$/);
    // Values of the wrong type (refused by their own rules) are not put into the message.
    const unnamed = problems({ ...valid, containerKind: "application", vmid: "123", containerInitCommand: 42 }).find((p) => p.property === "containerKind")!;
    assert.match(unnamed.reason, /the container is an application container: its image's entrypoint `\?` runs/);
    assert.ok(parseDeploymentInputs({ ...valid, containerKind: "system" }).ok);
  });
});

describe("ContainerDeployment diff of unknown values", () => {
  it("shows an unknown revision as a change, never as the same", () => {
    const olds = { ...valid, ...DEFAULTS, revision: "a" };
    assert.deepStrictEqual([diffDeployment(olds, { ...olds, revision: UNKNOWN }).changes, diffDeployment(olds, { ...olds, revision: UNKNOWN }).replaces], [true, []]);
  });
});

describe("publicKeyOf", () => {
  it("names the key's comment, launchpad-deploy unless given, and reads only the first line of a parse error", () => {
    const { generateDeployKey } = require("../../../provider/deploy/keyPair") as typeof import("../../../provider/deploy/keyPair");
    const pair = generateDeployKey("x");
    assert.strictEqual(publicKeyOf(pair.privateKey), pair.publicKey.replace(/ x$/, " launchpad-deploy"));
    assert.strictEqual(publicKeyOf(pair.privateKey, undefined, "web"), pair.publicKey.replace(/ x$/, " web"));
    assert.throws(() => publicKeyOf("-----BEGIN OPENSSH PRIVATE KEY-----\nnot a key\n-----END OPENSSH PRIVATE KEY-----\n"), (error: Error) => {
      assert.match(error.message, /^the deploy private key cannot be read: \S/);
      assert.ok(!error.message.includes("\n"), error.message);
      return true;
    });
  });
});

describe("ContainerDeployment stored state", () => {
  it("reads stored inputs, skipping keys that are not inputs and null values, and names the fields it cannot read", () => {
    const { parseStoredInputs } = require("../../../provider/deploy/schema") as typeof import("../../../provider/deploy/schema");
    assert.deepStrictEqual(parseStoredInputs({ ...valid, revision: null, jump: undefined, knownHostKey: FP, schemaVersion: 1 }), { ...valid, ...DEFAULTS });
    assert.throws(() => parseStoredInputs({ ...valid, port: "22", commands: [] }), (error: Error) => error.message === "stored deployment inputs cannot be read: port, commands");
  });

  it("never throws on a null jump host, and tells deploy keys from deployments, even without props", () => {
    const { isDeployKey } = require("../../../provider/deploy/keyPair") as typeof import("../../../provider/deploy/keyPair");
    assert.doesNotThrow(() => parseDeploymentInputs({ ...valid, jump: null }));
    assert.ok(!parseDeploymentInputs({ ...valid, jump: null }).ok);
    assert.strictEqual(isDeployKey(undefined), false);
    assert.strictEqual(isDeployKey({ resource: "deploy-key" }), true);
    assert.strictEqual(isDeployKey({ host: "x" }), false);
  });
});
