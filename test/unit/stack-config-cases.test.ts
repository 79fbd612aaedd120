// provider/stackConfig.ts value by value: how each kind of config value is stored, which objects count as
// Pulumi's Config, and which secret parts are registered for masking.
import { strict as assert } from "assert";
import { randomUUID } from "node:crypto";
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
    // Fresh values per run: the registry is process-wide, and a value registered by an earlier run would hide a broken registration.
    const [part, password, host, lead, tail] = ["part", "pass", "host", "lead", "tail"].map((w) => `${w}-${randomUUID()}`);
    setStackConfig({ "launchpad:apiToken": `ci@pve!lp=${part}`, "launchpad:password": password, "launchpad:endpoint": `https://${host}:8006` });
    assert.equal(redact(`x ${part} y`), "x [secret] y");
    assert.equal(redact(password), "[secret]");
    assert.equal(redact(`https://${host}:8006`), `https://${host}:8006`);
    setStackConfig({ "launchpad:apiToken": `=${lead}` });
    assert.equal(redact(`[${lead}]`), "[[secret]]", "a token whose '=' is its first character");
    setStackConfig({ "launchpad:password": `pw=${tail}` });
    assert.equal(redact(`<${tail}>`), "<[secret]>", "a password with '=' has its tail masked too");
  });
});
