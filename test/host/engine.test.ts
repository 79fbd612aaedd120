import * as assert from "assert";
import { execFileSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import * as cloudflare from "@pulumi/cloudflare";
import * as pulumi from "@pulumi/pulumi";
import { EngineError, moduleProgram, TestEngine, unwrapSecrets } from "../../devstack/engine";
import { REPO_ROOT } from "../../devstack/host";
import { Thing, ThingArgs } from "../support/fixtures/fileProvider";

/** The test engine itself, driven with a file-backed fixture provider through the real host. */
describe("test engine (real dynamic-provider host)", function () {
  let world: string;
  let engines: TestEngine[];

  const newEngine = (options: ConstructorParameters<typeof TestEngine>[0] = {}) => {
    const engine = new TestEngine(options);
    engines.push(engine);
    return engine;
  };
  const journal = () => fs.existsSync(path.join(world, "journal.log")) ? fs.readFileSync(path.join(world, "journal.log"), "utf8").trim().split("\n") : [];
  const thingFiles = () => fs.readdirSync(world).filter((f) => f.endsWith(".json")).sort();
  const ops = (result: { operations: Array<{ name: string; op: string }> }) =>
    Object.fromEntries(result.operations.map((o) => [o.name, o.op]));
  const one = (args: ThingArgs, opts?: pulumi.CustomResourceOptions) => () => { new Thing("thing", world, args, opts); };

  beforeEach(() => {
    world = fs.mkdtempSync(path.join(os.tmpdir(), "engine-world-"));
    engines = [];
  });
  afterEach(async () => {
    await Promise.all(engines.map((e) => e.close()));
    fs.rmSync(world, { recursive: true, force: true });
  });

  it("creates, then leaves an unchanged resource alone, then updates in place", async () => {
    const engine = newEngine();
    const created = await engine.up(() => {
      const thing = new Thing("thing", world, { name: "a" });
      return { thingPath: thing.path };
    });
    assert.deepStrictEqual(ops(created), { thing: "create" });
    const id = engine.resource("thing")!.id!;
    assert.strictEqual(created.outputs.thingPath, path.join(world, `${id}.json`));
    assert.deepStrictEqual(thingFiles(), [`${id}.json`]);

    const same = await engine.up(one({ name: "a" }));
    assert.deepStrictEqual(ops(same), { thing: "same" });

    const updated = await engine.up(one({ name: "a", size: 3 }));
    assert.deepStrictEqual(ops(updated), { thing: "update" });
    assert.strictEqual(engine.resource("thing")!.id, id, "an update keeps the id");
    assert.strictEqual(engine.resource("thing")!.plainOutputs.size, 3);
    assert.deepStrictEqual(journal().map((l) => l.split(" ")[0]), ["create", "update"]);
    assert.ok(engine.hostLogs.some((l) => l.includes(`created thing ${id}`)), "the provider's console output is captured");
  });

  it("replaces create-before-delete by default", async () => {
    const engine = newEngine();
    await engine.up(one({ name: "a" }));
    const oldId = engine.resource("thing")!.id!;
    const replaced = await engine.up(one({ name: "b" }));
    assert.deepStrictEqual(ops(replaced), { thing: "replace" });
    const newId = engine.resource("thing")!.id!;
    assert.notStrictEqual(newId, oldId);
    assert.deepStrictEqual(journal(), [`create a ${oldId}`, `create b ${newId}`, `delete a ${oldId}`]);
    assert.deepStrictEqual(thingFiles(), [`${newId}.json`]);
    assert.strictEqual(engine.state.filter((r) => r.name === "thing").length, 1, "the old one left the state");
  });

  it("replaces delete-before-create when the provider's diff asks for it", async () => {
    const engine = newEngine();
    await engine.up(one({ name: "a", exclusive: true }));
    const oldId = engine.resource("thing")!.id!;
    await engine.up(one({ name: "b", exclusive: true }));
    const newId = engine.resource("thing")!.id!;
    assert.deepStrictEqual(journal(), [`create a ${oldId}`, `delete a ${oldId}`, `create b ${newId}`]);
  });

  it("honours the deleteBeforeReplace resource option, and replaceOnChanges", async () => {
    const engine = newEngine();
    await engine.up(one({ name: "a" }, { deleteBeforeReplace: true }));
    const first = engine.resource("thing")!.id!;
    await engine.up(one({ name: "b" }, { deleteBeforeReplace: true }));
    const second = engine.resource("thing")!.id!;
    assert.deepStrictEqual(journal(), [`create a ${first}`, `delete a ${first}`, `create b ${second}`]);

    // size alone would update in place; replaceOnChanges turns it into a replacement.
    const result = await engine.up(one({ name: "b", size: 2 }, { replaceOnChanges: ["size"] }));
    assert.deepStrictEqual(ops(result), { thing: "replace" });
    assert.notStrictEqual(engine.resource("thing")!.id, second);
  });

  it("honours ignoreChanges: the old value is kept, nothing is updated", async () => {
    const engine = newEngine();
    await engine.up(one({ name: "a", size: 1 }, { ignoreChanges: ["size"] }));
    const result = await engine.up(one({ name: "a", size: 5 }, { ignoreChanges: ["size"] }));
    assert.deepStrictEqual(ops(result), { thing: "same" });
    assert.strictEqual(engine.resource("thing")!.plainInputs.size, 1);
  });

  it("stops at a check failure before any Create, naming the field", async () => {
    const engine = newEngine();
    await assert.rejects(engine.up(one({ name: "", size: 0 })), (e: EngineError) => {
      assert.ok(e instanceof EngineError);
      assert.match(e.message, /name: must be a non-empty string/);
      assert.match(e.message, /size: must be a number >= 1/);
      assert.deepStrictEqual(e.failures[0].checkFailures!.map((f) => f.property), ["name", "size"]);
      return true;
    });
    assert.strictEqual(engine.hostCalls.Check, 1);
    assert.strictEqual(engine.hostCalls.Create, 0);
    assert.deepStrictEqual(journal(), []);
  });

  it("keeps a resource whose create failed after it existed (ErrorResourceInitFailed), and destroys it later", async () => {
    const engine = newEngine();
    await assert.rejects(engine.up(one({ name: "a", failAfterCreate: true })), /did not become ready \(not ready\)/);
    const tracked = engine.resource("thing");
    assert.ok(tracked?.id, "the half-created thing is in state");
    assert.deepStrictEqual(tracked!.initErrors, ["not ready"]);
    assert.match(engine.stateText(), new RegExp(tracked!.id!));
    await engine.destroy();
    assert.deepStrictEqual(thingFiles(), []);
    assert.deepStrictEqual(journal().map((l) => l.split(" ")[0]), ["create", "delete"]);
  });

  it("updates a resource that failed to initialize on the next up, even without changes", async () => {
    const engine = newEngine();
    await assert.rejects(engine.up(one({ name: "a", failAfterCreate: true })), /did not become ready/);
    const id = engine.resource("thing")!.id;
    const retried = await engine.up(one({ name: "a", failAfterCreate: true }));
    assert.deepStrictEqual(ops(retried), { thing: "update" });
    assert.strictEqual(engine.resource("thing")!.id, id);
    assert.strictEqual(engine.resource("thing")!.initErrors, undefined, "a successful update clears the init errors");
  });

  it("reports a provider that throws in check as that resource's failure", async () => {
    const engine = newEngine();
    await assert.rejects(engine.up(one({ name: "throw-in-check" })), (e: EngineError) => {
      assert.deepStrictEqual(e.failures.map((f) => [f.rpc, f.urn.split("::").pop()]), [["Check", "thing"]]);
      assert.match(e.message, /Check failed: .*check exploded/);
      return true;
    });
    assert.strictEqual(engine.hostCalls.Create, 0);
  });

  it("shows why an init failure must carry __provider: without it, the host cannot run the later Delete", async () => {
    const engine = newEngine();
    await assert.rejects(engine.up(one({ name: "a", failAfterCreate: "without-provider" })), /did not become ready/);
    assert.ok(engine.resource("thing")?.id);
    await assert.rejects(engine.destroy(), /Delete failed/);
    assert.ok(engine.resource("thing"), "a failed delete keeps the resource in state");
  });

  it("reports a plain provider error with its message and records nothing", async () => {
    const engine = newEngine();
    await assert.rejects(engine.up(one({ name: "a", failCreate: true })), /Create failed: cannot create a/);
    assert.strictEqual(engine.resource("thing"), undefined);
  });

  it("deletes resources the program no longer declares, at the end of the up", async () => {
    const engine = newEngine();
    await engine.up(() => { new Thing("keep", world, { name: "k" }); new Thing("drop", world, { name: "d" }); });
    const result = await engine.up(() => { new Thing("keep", world, { name: "k" }); });
    assert.deepStrictEqual(ops(result), { keep: "same", drop: "delete" });
    assert.strictEqual(engine.resource("drop"), undefined);
    assert.strictEqual(thingFiles().length, 1);
  });

  it("refresh drops a resource that is gone and records drift", async () => {
    const engine = newEngine();
    await engine.up(() => { new Thing("gone", world, { name: "g" }); new Thing("drifts", world, { name: "d" }); });
    const gone = engine.resource("gone")!;
    const drifts = engine.resource("drifts")!;
    fs.unlinkSync(gone.plainOutputs.path as string);
    fs.writeFileSync(drifts.plainOutputs.path as string, JSON.stringify({ name: "d", size: 7 }));
    const result = await engine.refresh();
    assert.deepStrictEqual(ops(result), { gone: "delete", drifts: "update" });
    assert.strictEqual(engine.resource("gone"), undefined);
    assert.strictEqual(engine.resource("drifts")!.plainOutputs.size, 7);
  });

  it("destroys dependents before their dependencies and children before parents", async () => {
    const engine = newEngine();
    await engine.up(() => {
      const group = new pulumi.ComponentResource("fixture:index:Group", "group");
      const base = new Thing("base", world, { name: "base" }, { parent: group });
      const user = new Thing("user", world, { name: pulumi.interpolate`${base.name}-user` }, { parent: group });
      new Thing("waiter", world, { name: "waiter" }, { dependsOn: [user] });
    });
    const user = engine.state.find((r) => r.name === "user")!;
    assert.match(user.urn, /fixture:index:Group\$pulumi-nodejs:dynamic\/fixture:Thing::user$/);
    assert.ok(user.dependencies.some((d) => d.endsWith("::base")), "input dependency recorded");
    const result = await engine.destroy();
    const order = result.operations.map((o) => o.name);
    assert.ok(order.indexOf("waiter") < order.indexOf("user"), order.join(","));
    assert.ok(order.indexOf("user") < order.indexOf("base"), order.join(","));
    assert.ok(order.indexOf("base") < order.indexOf("group"), order.join(","));
    assert.deepStrictEqual(journal().filter((l) => l.startsWith("delete")).map((l) => l.split(" ")[1]), ["waiter", "base-user", "base"]);
    assert.deepStrictEqual(engine.state, []);
    assert.deepStrictEqual(thingFiles(), []);
  });

  it("keeps secrets out of the state file: secret inputs, same-key outputs, additionalSecretOutputs", async () => {
    const password = "hunter2-correct-horse-battery";
    const engine = newEngine();
    await engine.up(() => { new Thing("thing", world, { name: "a", password: pulumi.secret(password) }, { additionalSecretOutputs: ["derived"] }); });
    const text = engine.stateText();
    assert.ok(!text.includes(password), "the password appears in plain in the state file");
    assert.match(text, /"4dabf18193072939515e22adb298388d": "1b47061264138c4ac30d75fd1eb44270",\s*"ciphertext"/);
    const state = engine.resource("thing")!;
    assert.deepStrictEqual(state.outputs.password, { "4dabf18193072939515e22adb298388d": "1b47061264138c4ac30d75fd1eb44270", value: password });
    assert.strictEqual(state.plainOutputs.derived, password + "!");
    assert.ok(!text.includes(password + "!"));
    // The provider got the plain value (acceptSecrets=false): the file it wrote holds it.
    assert.strictEqual(JSON.parse(fs.readFileSync(state.plainOutputs.path as string, "utf8")).password, password);
  });

  it("an output stays plain when its input was not secret and no additionalSecretOutputs names it", async () => {
    const engine = newEngine();
    await engine.up(one({ name: "a", password: "not-a-secret" }));
    assert.strictEqual(engine.resource("thing")!.outputs.derived, "not-a-secret!");
    assert.match(engine.stateText(), /not-a-secret!/);
  });

  it("persists state across two engines on one file, as two CI runs would, secrets included", async () => {
    const stateFile = path.join(world, "..", `${path.basename(world)}-state.json`);
    try {
      const first = newEngine({ stateFile });
      await first.up(one({ name: "a", password: pulumi.secret("s3cret-value") }));
      const id = first.resource("thing")!.id;
      await first.close();

      const second = newEngine({ stateFile });
      assert.strictEqual(second.resource("thing")!.id, id);
      assert.strictEqual(second.resource("thing")!.plainInputs.password, "s3cret-value", "decrypted with the same passphrase");
      const again = await second.up(one({ name: "a", password: pulumi.secret("s3cret-value") }));
      assert.deepStrictEqual(ops(again), { thing: "same" });
      await second.destroy();
      assert.deepStrictEqual(thingFiles(), []);
    } finally {
      fs.rmSync(stateFile, { force: true });
    }
  });

  it("keeps its default state file under tempDir when given one, and removes it on close", async () => {
    const engine = newEngine({ tempDir: world });
    assert.ok(engine.stateFile.startsWith(world + path.sep), engine.stateFile);
    await engine.up(one({ name: "a" }));
    assert.ok(fs.existsSync(engine.stateFile));
    await engine.destroy();
    await engine.close();
    assert.ok(!fs.existsSync(path.dirname(engine.stateFile)), "its temp directory is gone");
  });

  it("preview runs check and diff only, lets unknowns flow, and saves nothing", async () => {
    const engine = newEngine();
    await engine.up(one({ name: "a" }));
    const before = engine.stateText();
    const preview = await engine.preview(() => {
      const first = new Thing("thing", world, { name: "a", size: 2 });
      // Its path is unknown in preview: the new thing's name is unknown too.
      new Thing("second", world, { name: first.path.apply((p) => `n${p.length}`) });
    });
    assert.deepStrictEqual(ops(preview), { thing: "update", second: "create" });
    assert.strictEqual(engine.hostCalls.Create, 1);
    assert.strictEqual(engine.hostCalls.Update, 0);
    assert.strictEqual(engine.stateText(), before);
    assert.strictEqual(journal().length, 1);
  });

  it("passes config to the program and to the provider's configure", async () => {
    const engine = newEngine({ config: { greeting: "hello", "launchpad:endpoint": "https://127.0.0.1:1" }, secretConfig: { token: "tok-123" } });
    const result = await engine.up(() => {
      const config = new pulumi.Config();
      return { greeting: config.require("greeting"), token: config.requireSecret("token"), endpoint: new pulumi.Config("launchpad").get("endpoint") };
    });
    assert.deepStrictEqual(unwrapSecrets(result.outputs), { greeting: "hello", token: "tok-123", endpoint: "https://127.0.0.1:1" });
    assert.ok(!engine.stateText().includes("tok-123"), "a secret stack output is encrypted in state");
  });

  it("passes secret config in plain to configure, resolves project-relative keys, and sets the host's environment", async () => {
    process.env.FIXTURE_UNSET = "ambient";
    try {
      const engine = newEngine({ config: { "launchpad:endpoint": "https://127.0.0.1:8006" }, secretConfig: { token: "tok-456" }, env: { FIXTURE_ENV: "from-test", FIXTURE_UNSET: undefined } });
      await engine.up(one({ name: "a" }));
      const seen = JSON.parse(fs.readFileSync(path.join(world, "configure.seen"), "utf8"));
      assert.deepStrictEqual(seen, { endpoint: "https://127.0.0.1:8006", token: "tok-456", env: "from-test", home: null });
    } finally {
      delete process.env.FIXTURE_UNSET;
    }
  });

  it("sends unknown values to the host during preview", async () => {
    const engine = newEngine();
    await engine.preview(() => {
      const first = new Thing("first", world, { name: "f" });
      new Thing("second", world, { name: first.path });
    });
    assert.ok(engine.hostLogs.includes("check saw an unknown name"), engine.hostLogs.join("\n"));
    assert.strictEqual(engine.hostCalls.Create, 0);
  });

  it("does not register what depends on a failed resource, and reports only the root failure", async () => {
    const engine = newEngine();
    await assert.rejects(engine.up(() => {
      const broken = new Thing("broken", world, { name: "" });
      new Thing("dependent", world, { name: broken.name.apply((n) => `${n}-child`) });
      new Thing("independent", world, { name: "ok" });
    }), (e: EngineError) => {
      assert.deepStrictEqual(e.failures.map((f) => f.urn.split("::").pop()), ["broken"]);
      return true;
    });
    assert.deepStrictEqual(engine.state.filter((r) => r.custom).map((r) => r.name), ["independent"], "what succeeded is saved");
    assert.strictEqual(engine.hostCalls.Create, 1);
  });

  it("does not hang when a component's child fails check while the component waits on its outputs", async () => {
    class Pair extends pulumi.ComponentResource {
      constructor(name: string, bad: boolean) {
        super("test:index:Pair", name, {}, {});
        const first = new Thing(`${name}-first`, world, { name: bad ? "" : "first" }, { parent: this });
        const second = new Thing(`${name}-second`, world, { name: first.name.apply((n) => `${n}-second`) }, { parent: this });
        // registerOutputs waits on an output that can never resolve once `first` failed.
        this.registerOutputs({ second: second.name });
      }
    }
    const engine = newEngine();
    await assert.rejects(engine.up(() => { new Pair("pair", true); }), (e: EngineError) => {
      assert.ok(e instanceof EngineError, String(e));
      assert.deepStrictEqual(e.failures.map((f) => [f.rpc, f.urn.split("::").pop()]), [["Check", "pair-first"]]);
      return true;
    });
    assert.strictEqual(engine.hostCalls.Create, 0);
    assert.deepStrictEqual(thingFiles(), []);
  });

  it("rejects with the program's own error when the program throws", async () => {
    const engine = newEngine();
    await assert.rejects(engine.up(() => { throw new Error("bad program"); }), /bad program/);
  });

  it("records non-dynamic resources (e.g. Cloudflare's) as mocks: inputs as outputs, id = name", async () => {
    const engine = newEngine();
    await engine.up(() => {
      new cloudflare.DnsRecord("record", { zoneId: "z1", name: "app", content: "192.0.2.1", type: "A", ttl: 60 });
    });
    const record = engine.resource("record")!;
    assert.strictEqual(record.type, "cloudflare:index/dnsRecord:DnsRecord");
    assert.strictEqual(record.id, "record");
    assert.strictEqual(record.plainOutputs.content, "192.0.2.1");
    const again = await engine.up(() => {
      new cloudflare.DnsRecord("record", { zoneId: "z1", name: "app", content: "192.0.2.2", type: "A", ttl: 60 });
    });
    assert.deepStrictEqual(ops(again), { record: "update" });
    assert.strictEqual(engine.hostCalls.Check, 0, "mocked resources never reach the host");
    const destroyed = await engine.destroy();
    assert.deepStrictEqual(ops(destroyed), { record: "delete" });
  });

  it("deletes removed resources dependents first", async () => {
    const engine = newEngine();
    await engine.up(() => {
      const base = new Thing("base", world, { name: "base" });
      new Thing("top", world, { name: base.name.apply((n) => `${n}-top`) });
    });
    const result = await engine.up(() => undefined);
    assert.deepStrictEqual(result.operations.map((o) => o.name), ["top", "base"]);
    assert.deepStrictEqual(journal().slice(2).map((l) => l.split(" ").slice(0, 2).join(" ")), ["delete base-top", "delete base"]);
  });

  it("keeps a replaced resource whose delete failed as a pending delete, and deletes it on the next up", async () => {
    const engine = newEngine();
    await engine.up(one({ name: "a" }));
    const oldId = engine.resource("thing")!.id!;
    fs.writeFileSync(path.join(world, "refuse-delete-a"), "");
    await assert.rejects(engine.up(one({ name: "b" })), /Delete failed: a is busy/);
    const pending = engine.state.filter((r) => r.pendingDelete);
    assert.deepStrictEqual(pending.map((r) => r.id), [oldId]);
    assert.notStrictEqual(engine.resource("thing")!.id, oldId, "the replacement is the live one");

    fs.unlinkSync(path.join(world, "refuse-delete-a"));
    const next = await engine.up(one({ name: "b" }));
    assert.deepStrictEqual(ops(next), { thing: "same" });
    assert.deepStrictEqual(engine.state.filter((r) => r.pendingDelete), []);
    assert.ok(journal().includes(`delete a ${oldId}`));
  });

  it("runs a module that creates resources when loaded, again on every up", async () => {
    const engine = newEngine({ config: { world } });
    const program = moduleProgram(path.join(__dirname, "..", "support", "fixtures", "program"));
    const first = await engine.up(program);
    assert.deepStrictEqual(ops(first), { loaded: "create" });
    assert.strictEqual(first.outputs.label, "launchpad-test/dev");
    assert.strictEqual(first.outputs.thingPath, engine.resource("loaded")!.plainOutputs.path);
    const second = await engine.up(program);
    assert.deepStrictEqual(ops(second), { loaded: "same" }, "the module ran again and declared the same thing");
    await engine.destroy();
    assert.deepStrictEqual(thingFiles(), []);
  });

  it("keeps engines running at the same time in one process apart", async () => {
    const runs = ["s1", "s2", "s3"].map((stack) => newEngine({ stack, config: { tag: stack } }));
    const results = await Promise.all(runs.map((engine) => engine.up(() => {
      const tag = new pulumi.Config().require("tag");
      const thing = new Thing(`thing-${tag}`, world, { name: tag });
      return { tag, stack: pulumi.getStack(), path: thing.path };
    })));
    results.forEach((result, i) => {
      const stack = `s${i + 1}`;
      assert.deepStrictEqual([result.outputs.tag, result.outputs.stack], [stack, stack]);
      assert.deepStrictEqual(runs[i].state.filter((r) => r.custom).map((r) => r.urn), [`urn:pulumi:${stack}::launchpad-test::pulumi-nodejs:dynamic/fixture:Thing::thing-${stack}`]);
    });
    await Promise.all(runs.map((engine) => engine.destroy()));
    assert.deepStrictEqual(thingFiles(), []);
  });
});

describe("provider hosts a test process leaves running when it exits", function () {
  this.timeout(60_000);
  const alive = (pid: number) => {
    try {
      process.kill(pid, 0);
      return true;
    } catch {
      return false;
    }
  };

  it("are killed by one exit listener, however many hosts it started (50 would pass Node's limit of 10)", async () => {
    // A process that starts two hosts and exits without stopping them, as mocha --exit does after a failure.
    const script = `
      const { DynamicProviderHost } = require(${JSON.stringify(path.join(REPO_ROOT, "devstack/host"))});
      (async () => {
        const before = process.listenerCount("exit");
        const hosts = [await DynamicProviderHost.start(), await DynamicProviderHost.start()];
        console.log(JSON.stringify({ added: process.listenerCount("exit") - before, pids: hosts.map((h) => h.pid) }));
        process.exit(0);
      })();`;
    const out = execFileSync(process.execPath, ["-r", "ts-node/register/transpile-only", "-e", script], { cwd: REPO_ROOT, encoding: "utf8" });
    const { added, pids } = JSON.parse(out.trim().split("\n").pop()!) as { added: number; pids: number[] };
    assert.equal(added, 0, "no exit listener per host");
    assert.equal(pids.length, 2);
    const deadline = Date.now() + 10_000;
    while (pids.some(alive) && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 50));
    assert.deepEqual(pids.filter(alive), [], "every host the process left running is gone");
  });
});
