// provider/stackConfig.ts value by value: how each kind of config value is stored, which objects count as
// Pulumi's Config, and which secret parts are registered for masking.
import { strict as assert } from "assert";
import { redact } from "../../provider/errors";
import { getStackConfig, setStackConfig, STACK_CONFIG_KEYS } from "../../provider/stackConfig";

describe("stack config, case by case", () => {
  afterEach(() => setStackConfig({}));

  it("stores strings as they are, objects as JSON, other values as text, and leaves out null and undefined", () => {
    setStackConfig({ a: "text", b: { x: [1] }, c: 42, d: false, e: null, f: undefined, g: "" });
    assert.deepEqual(getStackConfig(), { a: "text", b: '{"x":[1]}', c: "42", d: "false", e: undefined, f: undefined, g: "" });
  });

  it("an object with get() is Pulumi's Config: only the launchpad keys are read from it", () => {
    const asked: string[] = [];
    setStackConfig({ get: (key: string) => (asked.push(key), key === "launchpad:endpoint" ? "https://pve:8006" : key === "launchpad:vmidRange" ? { min: 1 } : undefined) } as never);
    assert.deepEqual(asked, [...STACK_CONFIG_KEYS]);
    assert.equal(getStackConfig()["launchpad:endpoint"], "https://pve:8006");
    assert.equal(getStackConfig()["launchpad:vmidRange"], '{"min":1}');
    assert.equal(Object.keys(getStackConfig()).length, STACK_CONFIG_KEYS.length);
  });

  it("an object whose get is not a function is a plain record; nothing at all empties the config", () => {
    setStackConfig({ get: "not a function", "launchpad:endpoint": "https://x:8006" });
    assert.deepEqual(getStackConfig(), { get: "not a function", "launchpad:endpoint": "https://x:8006" });
    setStackConfig(undefined);
    assert.deepEqual(getStackConfig(), {});
  });

  it("registers the token, its secret part, and the password; not other keys", () => {
    setStackConfig({ "launchpad:apiToken": "ci@pve!lp=token-secret-part-1", "launchpad:password": "pass-word-1", "launchpad:endpoint": "https://public-host-1:8006" });
    assert.equal(redact("x token-secret-part-1 y"), "x [secret] y");
    assert.equal(redact("pass-word-1"), "[secret]");
    assert.equal(redact("https://public-host-1:8006"), "https://public-host-1:8006");
    setStackConfig({ "launchpad:apiToken": "=lead-eq-secret" });
    assert.equal(redact("[lead-eq-secret]"), "[[secret]]", "a token whose '=' is its first character");
    setStackConfig({ "launchpad:password": "pw=tail-after-eq" });
    assert.equal(redact("<tail-after-eq>"), "<[secret]>", "a password with '=' has its tail masked too");
  });
});
