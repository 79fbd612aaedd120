import * as crypto from "crypto";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { DynamicProviderHost, HostCallError, HostRpc, Props, Struct, UNKNOWN } from "./host";

/* eslint-disable @typescript-eslint/no-require-imports */
const settings = require("@pulumi/pulumi/runtime/settings");
const runtimeState = require("@pulumi/pulumi/runtime/state");
const runtimeStack = require("@pulumi/pulumi/runtime/stack");
const runtimeConfig = require("@pulumi/pulumi/runtime/config");
const { MockMonitor } = require("@pulumi/pulumi/runtime/mocks");
const resproto = require("@pulumi/pulumi/proto/resource_pb");

/** Pulumi's wire markers: `{[SIG_KEY]: SECRET_SIG, value}` is a secret (runtime/rpc). */
export const SIG_KEY = "4dabf18193072939515e22adb298388d";
export const SECRET_SIG = "1b47061264138c4ac30d75fd1eb44270";
const STACK_TYPE = "pulumi:pulumi:Stack";
const isDynamic = (type: string) => type.startsWith("pulumi-nodejs:dynamic");
/** How long the program must stay silent after a failure before the engine stops waiting for it (a quiescence wait, not an assertion). */
const QUIET_AFTER_FAILURE_MS = 500;

export type Op = "create" | "update" | "replace" | "same" | "delete" | "read";
export interface Operation { urn: string; type: string; name: string; op: Op; }

/** One resource as the checkpoint keeps it. Inputs and outputs are in wire form: secrets stay wrapped. */
export interface ResourceState {
  urn: string;
  type: string;
  name: string;
  custom: boolean;
  id?: string;
  parent?: string;
  dependencies: string[];
  inputs: Props;
  outputs: Props;
  /** The serialized provider text (also in inputs/outputs as `__provider`): what a later delete runs. */
  provider?: string;
  additionalSecretOutputs?: string[];
  /** Replaced create-before-delete, deletion not yet done (a failed up left it). */
  pendingDelete?: boolean;
  /** Set when a create or update failed after something real existed (ErrorResourceInitFailed). */
  initErrors?: string[];
}

export interface Failure { urn: string; message: string; rpc?: HostRpc | "program"; checkFailures?: Array<{ property: string; reason: string }>; }

/** `up`/`destroy` reject with this, after the state has been saved. */
export class EngineError extends Error {
  constructor(readonly command: string, readonly failures: Failure[]) {
    super(`${command} failed:\n` + failures.map((f) => `  ${f.urn}: ${f.message}`).join("\n"));
    this.name = "EngineError";
  }
}

export interface RunResult {
  /** Stack outputs, secrets unwrapped. */
  outputs: Record<string, unknown>;
  /** One per resource touched, the root stack left out. */
  operations: Operation[];
  resources: ResourceState[];
  /** What the provider host printed during this command (the provider's console passthrough). */
  logs: string[];
}

/** Stack config that points the provider at a Proxmox VE (the sandbox): endpoint and pin in plain config, the token as a secret. */
export function proxmoxConfig(pve: { endpoint: string; fingerprint: string; apiToken: string }): Pick<TestEngineOptions, "config" | "secretConfig"> {
  return {
    config: { "launchpad:endpoint": pve.endpoint, "launchpad:fingerprint": pve.fingerprint },
    secretConfig: { "launchpad:apiToken": pve.apiToken },
  };
}

export interface TestEngineOptions {
  project?: string;
  stack?: string;
  /** Stack config; keys without a namespace get the project's (`branch` -> `<project>:branch`). */
  config?: Record<string, string>;
  secretConfig?: Record<string, string>;
  /** Environment of the provider host (`undefined` removes a variable), e.g. PROXMOX_VE_*. */
  env?: Record<string, string | undefined>;
  /** The checkpoint file; a fresh temp file by default. Two engines on one file = two CI runs. */
  stateFile?: string;
  /** The directory the default state file's temp directory goes in. @default os.tmpdir() */
  tempDir?: string;
  /** Key material for secrets in the checkpoint (Pulumi's passphrase secrets provider, in spirit). */
  passphrase?: string;
  /** Working directory of the provider host, whose node_modules resolve `pulumi-launchpad` (the bench runs an older build this way). */
  cwd?: string;
}

type Program = () => unknown;

/**
 * Runs Pulumi programs in-process (`setMocks`-style monitor) and sends every dynamic resource
 * through the real dynamic-provider host: Check, Diff, Create / Update / replace, Delete, Read.
 * Other resources are recorded as mocks (inputs as outputs, id = name). Test equipment.
 */
export class TestEngine {
  readonly project: string;
  readonly stack: string;
  readonly stateFile: string;
  readonly hostLogs: string[] = [];
  readonly hostCalls: Record<HostRpc, number> = { Configure: 0, Check: 0, Diff: 0, Create: 0, Update: 0, Delete: 0, Read: 0 };
  private resources: ResourceState[] = [];
  private salt: string;
  private readonly key: Buffer;
  private readonly hosts = new Set<DynamicProviderHost>();
  /** The temp directory of a default state file, removed by `close()`. */
  private readonly ownStateDir: string | undefined;

  constructor(private readonly options: TestEngineOptions = {}) {
    this.project = options.project ?? "launchpad-test";
    this.stack = options.stack ?? "dev";
    this.ownStateDir = options.stateFile ? undefined : fs.mkdtempSync(path.join(options.tempDir ?? os.tmpdir(), "launchpad-engine-"));
    this.stateFile = options.stateFile ?? path.join(this.ownStateDir!, "state.json");
    this.salt = crypto.randomBytes(16).toString("base64");
    if (fs.existsSync(this.stateFile)) {
      const saved = JSON.parse(fs.readFileSync(this.stateFile, "utf8"));
      this.salt = saved.secretsProviders.state.salt;
      this.key = crypto.scryptSync(options.passphrase ?? "test-engine", this.salt, 32);
      this.resources = saved.resources.map((r: ResourceState) => this.decryptSecrets(r));
    } else {
      this.key = crypto.scryptSync(options.passphrase ?? "test-engine", this.salt, 32);
    }
  }

  /** The resources in the last saved state, secrets unwrapped to `{[SIG_KEY]: SECRET_SIG, value}`. */
  get state(): ResourceState[] { return this.resources; }
  /** The checkpoint file's text, as a `grep` for leaked secrets would see it. */
  stateText(): string { return fs.existsSync(this.stateFile) ? fs.readFileSync(this.stateFile, "utf8") : ""; }
  /** A resource by name (or urn), with plain (secret-unwrapped) inputs and outputs. */
  resource(nameOrUrn: string): (ResourceState & { plainOutputs: Props; plainInputs: Props }) | undefined {
    const r = this.resources.find((x) => !x.pendingDelete && (x.urn === nameOrUrn || x.name === nameOrUrn));
    return r && { ...r, plainOutputs: unwrapSecrets(r.outputs) as Props, plainInputs: unwrapSecrets(r.inputs) as Props };
  }

  up(program: Program): Promise<RunResult> { return this.deploy(program, false); }
  /** Check and Diff only: no Create/Update/Delete, nothing saved; unknowns flow as in `pulumi preview`. */
  preview(program: Program): Promise<RunResult> { return this.deploy(program, true); }

  /** Read for every dynamic resource: drops the gone ones, records drift ("update"). */
  async refresh(): Promise<RunResult> {
    const host = await this.startHost();
    const operations: Operation[] = [];
    try {
      const kept: ResourceState[] = [];
      const failures: Failure[] = [];
      for (const r of this.resources) {
        if (!r.custom || !isDynamic(r.type) || !r.id) { kept.push(r); continue; }
        let read;
        try {
          read = await host.read(r.urn, r.id, unwrapSecrets(r.outputs) as Props, unwrapSecrets(r.inputs) as Props);
        } catch (e) {
          failures.push({ urn: r.urn, rpc: "Read", message: `Read failed: ${errorMessage(e)}` });
          kept.push(r);
          continue;
        }
        if (!read.id) { operations.push(op(r, "delete")); continue; }
        const outputs = markSecrets(read.props, r.inputs, r.additionalSecretOutputs, r.outputs);
        const inputs = read.inputs ? markSecrets(read.inputs, r.inputs) : r.inputs;
        const drifted = JSON.stringify(outputs) !== JSON.stringify(r.outputs) || JSON.stringify(inputs) !== JSON.stringify(r.inputs);
        operations.push(op(r, drifted ? "update" : "same"));
        kept.push({ ...r, id: read.id, outputs, inputs });
      }
      this.resources = kept;
      this.save();
      if (failures.length) throw new EngineError("refresh", failures);
    } finally {
      await this.stopHost(host);
    }
    return { outputs: this.stackOutputs(), operations, resources: this.resources, logs: host.logs };
  }

  /** Deletes everything, dependents before what they depend on (dependencies and parent/child). */
  async destroy(): Promise<RunResult> {
    const host = await this.startHost();
    const operations: Operation[] = [];
    try {
      const gone = new Set<ResourceState>();
      const failures = await this.deleteAll(host, this.resources, operations, gone);
      this.resources = this.resources.filter((r) => !gone.has(r));
      this.save();
      if (failures.length) throw new EngineError("destroy", failures);
    } finally {
      await this.stopHost(host);
    }
    return { outputs: {}, operations, resources: this.resources, logs: host.logs };
  }

  /** Stops any host still running (after a test failed half-way); removes a default (temp) state file. */
  async close(): Promise<void> {
    await Promise.all([...this.hosts].map((h) => this.stopHost(h)));
    if (this.ownStateDir) fs.rmSync(this.ownStateDir, { recursive: true, force: true });
  }

  private async deploy(program: Program, preview: boolean): Promise<RunResult> {
    const host = await this.startHost();
    const run = new Deployment(this, host, preview, this.resources);
    try {
      // A pending delete left by a failed up goes first, as Pulumi does.
      if (!preview) run.failures.push(...await this.deleteAll(host, this.resources.filter((r) => r.pendingDelete), [], run.gone));
      const outputs = await runtimeState.withLocalStorage(async () => {
        settings.setMockOptions(new EngineMonitor(run), this.project, this.stack, preview);
        const store = runtimeState.getStore();
        Object.assign(store, { supportsSecrets: true, supportsResourceReferences: false, supportsOutputValues: false, supportsDeletedWith: true, supportsAliasSpecs: true });
        runtimeConfig.setAllConfig(this.programConfig(), Object.keys(this.qualified(this.options.secretConfig ?? {})));
        const finished = (async () => {
          let result: unknown = {};
          try {
            result = await runtimeStack.runInPulumiStack(program);
          } catch (e) {
            // A program awaiting a failed resource rethrows that failure: report it once.
            if (!run.failures.some((f) => errorMessage(e).includes(f.urn))) run.failures.push({ urn: "program", rpc: "program", message: errorMessage(e) });
          }
          await settings.waitForRPCs();
          return result;
        })();
        // After a failure Pulumi stops the program once the steps in flight are done: outputs that
        // hang on the failed resource (a component's registerOutputs) would otherwise never settle.
        try {
          return await Promise.race([finished, run.abandoned()]);
        } finally {
          run.stopWatching();
        }
      });
      await run.finish();
      if (!preview) {
        this.resources = run.newState();
        this.save();
      }
      if (run.failures.length) throw new EngineError(preview ? "preview" : "up", run.failures);
      return { outputs: (outputs ?? {}) as Record<string, unknown>, operations: run.operations, resources: preview ? run.registered : this.resources, logs: host.logs };
    } catch (e) {
      if (!preview && !(e instanceof EngineError)) { this.resources = run.newState(); this.save(); }
      throw e;
    } finally {
      await this.stopHost(host);
    }
  }

  /** Deletes `victims` in reverse dependency order; adds each deleted one to `gone`. */
  async deleteAll(host: DynamicProviderHost, victims: ResourceState[], operations: Operation[], gone: Set<ResourceState>): Promise<Failure[]> {
    const failures: Failure[] = [];
    const failed = new Set<ResourceState>();
    for (const r of deletionOrder(victims)) {
      // Never delete something that a resource we failed to delete still depends on.
      if ([...failed].some((f) => f.dependencies.includes(r.urn) || f.parent === r.urn)) { failed.add(r); continue; }
      try {
        if (r.custom && isDynamic(r.type) && r.id) {
          await host.delete(r.urn, r.id, unwrapSecrets(r.outputs) as Props, unwrapSecrets(r.inputs) as Props);
        }
        gone.add(r);
        if (r.type !== STACK_TYPE) operations.push(op(r, "delete"));
      } catch (e) {
        failed.add(r);
        failures.push({ urn: r.urn, rpc: "Delete", message: `Delete failed: ${errorMessage(e)}` });
      }
    }
    return failures;
  }

  /** Config the program sees (`pulumi.Config`) and the host's Configure gets. */
  programConfig(): Record<string, string> {
    return { ...this.qualified(this.options.config ?? {}), ...this.qualified(this.options.secretConfig ?? {}) };
  }

  private qualified(config: Record<string, string>): Record<string, string> {
    return Object.fromEntries(Object.entries(config).map(([k, v]) => [k.includes(":") ? k : `${this.project}:${k}`, v]));
  }

  private async startHost(): Promise<DynamicProviderHost> {
    // A fresh host per command, as each `pulumi` command starts its own plugin process.
    const host = await DynamicProviderHost.start({ env: this.options.env, cwd: this.options.cwd, project: this.project, stack: this.stack });
    this.hosts.add(host);
    const secretKeys = new Set(Object.keys(this.qualified(this.options.secretConfig ?? {})));
    const wire = Object.fromEntries(Object.entries(this.programConfig()).map(([k, v]) => [k, secretKeys.has(k) ? { [SIG_KEY]: SECRET_SIG, value: v } : v]));
    await host.configure(wire as Record<string, string>);
    return host;
  }

  private async stopHost(host: DynamicProviderHost): Promise<void> {
    if (!this.hosts.delete(host)) return;
    await host.stop();
    this.hostLogs.push(...host.logs);
    for (const rpc of Object.keys(this.hostCalls) as HostRpc[]) this.hostCalls[rpc] += host.calls[rpc];
  }

  private stackOutputs(): Record<string, unknown> {
    const root = this.resources.find((r) => r.type === STACK_TYPE);
    return (root ? unwrapSecrets(root.outputs) : {}) as Record<string, unknown>;
  }

  private save(): void {
    const checkpoint = {
      version: 3,
      stack: `${this.project}/${this.stack}`,
      secretsProviders: { type: "passphrase", state: { salt: this.salt } },
      resources: this.resources.map((r) => this.encryptSecrets(r)),
    };
    fs.mkdirSync(path.dirname(this.stateFile), { recursive: true });
    const tmp = `${this.stateFile}.${process.pid}.tmp`;
    fs.writeFileSync(tmp, JSON.stringify(checkpoint, null, 2));
    fs.renameSync(tmp, this.stateFile);
  }

  private encryptSecrets(r: ResourceState): ResourceState {
    const seal = (v: unknown): unknown => mapSecrets(v, (plain) => {
      const iv = crypto.randomBytes(12);
      const cipher = crypto.createCipheriv("aes-256-gcm", this.key, iv);
      const body = Buffer.concat([cipher.update(JSON.stringify(plain), "utf8"), cipher.final(), cipher.getAuthTag()]);
      return { [SIG_KEY]: SECRET_SIG, ciphertext: `v1:${iv.toString("base64")}:${body.toString("base64")}` };
    });
    return { ...r, inputs: seal(r.inputs) as Props, outputs: seal(r.outputs) as Props };
  }

  private decryptSecrets(r: ResourceState): ResourceState {
    const open = (v: unknown): unknown => {
      if (isSecretWire(v) && typeof (v as any).ciphertext === "string") {
        const [, iv, body] = (v as any).ciphertext.split(":");
        const raw = Buffer.from(body, "base64");
        const decipher = crypto.createDecipheriv("aes-256-gcm", this.key, Buffer.from(iv, "base64"));
        decipher.setAuthTag(raw.subarray(raw.length - 16));
        const plain = Buffer.concat([decipher.update(raw.subarray(0, raw.length - 16)), decipher.final()]).toString("utf8");
        return { [SIG_KEY]: SECRET_SIG, value: JSON.parse(plain) };
      }
      if (Array.isArray(v)) return v.map(open);
      if (v && typeof v === "object") return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, open(x)]));
      return v;
    };
    return { ...r, inputs: open(r.inputs) as Props, outputs: open(r.outputs) as Props };
  }
}

/** One `up` or `preview`: the step logic per registered resource. */
class Deployment {
  readonly operations: Operation[] = [];
  readonly failures: Failure[] = [];
  readonly registered: ResourceState[] = [];
  /** Old resources replaced create-before-delete: deleted at the end of the up. */
  private readonly replaced: ResourceState[] = [];
  /** Old resources deleted during this run. */
  readonly gone = new Set<ResourceState>();

  /** Registrations under way, and when the program last talked to the monitor. */
  private inFlight = 0;
  private lastActivity = Date.now();
  private watcher: NodeJS.Timeout | undefined;

  constructor(readonly engine: TestEngine, readonly host: DynamicProviderHost, readonly preview: boolean, readonly old: ResourceState[]) {}

  /** Marks the monitor busy while `work` runs. */
  async busy<T>(work: () => Promise<T>): Promise<T> {
    this.inFlight++;
    this.lastActivity = Date.now();
    try {
      return await work();
    } finally {
      this.inFlight--;
      this.lastActivity = Date.now();
    }
  }

  touch(): void { this.lastActivity = Date.now(); }

  /** Resolves once something failed and the program has gone quiet: nothing in flight, no new registration for a while. */
  abandoned(): Promise<Record<string, unknown>> {
    return new Promise((resolve) => {
      this.watcher = setInterval(() => {
        if (this.failures.length && this.inFlight === 0 && Date.now() - this.lastActivity > QUIET_AFTER_FAILURE_MS) resolve({});
      }, 50);
    });
  }

  stopWatching(): void { if (this.watcher) clearInterval(this.watcher); }

  private oldOf(urn: string): ResourceState | undefined {
    return this.old.find((r) => r.urn === urn && !r.pendingDelete);
  }

  async register(req: RegistrationRequest): Promise<ResourceState> {
    const old = this.oldOf(req.urn);
    const base: ResourceState = {
      urn: req.urn, type: req.type, name: req.name, custom: req.custom, parent: req.parent, dependencies: req.dependencies,
      inputs: req.inputs, outputs: {}, ...(req.additionalSecretOutputs.length ? { additionalSecretOutputs: req.additionalSecretOutputs } : {}),
    };
    if (!req.custom) {
      const r = { ...base, outputs: old?.outputs ?? {} };
      return this.record(r, old ? "same" : "create");
    }
    if (!isDynamic(req.type)) {
      const changed = !old || JSON.stringify(unwrapSecrets(old.inputs)) !== JSON.stringify(unwrapSecrets(req.inputs));
      const id = old?.id ?? (this.preview ? "" : req.name);
      return this.record({ ...base, id, outputs: req.inputs }, !old ? "create" : changed ? "update" : "same");
    }
    try {
      return await this.registerDynamic(req, base, old);
    } catch (e) {
      // A provider that throws in check or diff fails the resource as any other provider error.
      if (!(e as { recorded?: boolean }).recorded) this.failures.push(failureOf(req.urn, e));
      throw e;
    }
  }

  private async registerDynamic(req: RegistrationRequest, base: ResourceState, old: ResourceState | undefined): Promise<ResourceState> {
    const host = this.host;
    const oldInputs = old ? unwrapSecrets(old.inputs) as Props : {};
    const news = unwrapSecrets(req.inputs) as Props;
    // ignoreChanges: the engine puts the old value back before Check, as Pulumi does.
    for (const key of old ? req.ignoreChanges : []) if (key in oldInputs) news[key] = oldInputs[key]; else delete news[key];
    const check = await host.check(req.urn, oldInputs, news);
    if (check.failures.length) {
      const failure: Failure = { urn: req.urn, rpc: "Check", checkFailures: check.failures, message: check.failures.map((f) => `${f.property}: ${f.reason}`).join("; ") };
      this.failures.push(failure);
      throw Object.assign(new Error(`${req.urn}: ${failure.message}`), { recorded: true });
    }
    const inputs = markSecrets(check.inputs, req.inputs);
    const provider = check.inputs.__provider as string;
    const next: ResourceState = { ...base, inputs, provider };
    const plainNews = check.inputs;
    if (!old) return this.create(next, plainNews, "create");

    const diff = await host.diff(req.urn, old.id ?? "", unwrapSecrets(old.outputs) as Props, plainNews, oldInputs);
    const changedKeys = changedTopLevelKeys(oldInputs, plainNews);
    const forcedReplace = req.replaceOnChanges.some((k) => k === "*" || changedKeys.includes(k));
    // A resource whose last create/update failed to initialize is updated again even without changes, as Pulumi does.
    const changed = diff.changes === "some" || (diff.changes === "unknown" && changedKeys.length > 0) || forcedReplace || !!old.initErrors?.length;
    if (!changed) return this.record({ ...next, id: old.id, outputs: old.outputs }, "same");
    if (diff.replaces.length === 0 && !forcedReplace) {
      if (this.preview) return this.record({ ...next, id: old.id, outputs: inputs }, "update");
      try {
        const { outs } = await host.update(req.urn, old.id ?? "", unwrapSecrets(old.outputs) as Props, plainNews, oldInputs);
        return this.record({ ...next, id: old.id, outputs: markSecrets(outs, inputs, req.additionalSecretOutputs) }, "update");
      } catch (e) {
        throw this.providerFailure(e, next);
      }
    }
    if (req.deleteBeforeReplace || diff.deleteBeforeReplace) {
      if (!this.preview) {
        try {
          await host.delete(old.urn, old.id ?? "", unwrapSecrets(old.outputs) as Props, oldInputs);
        } catch (e) {
          throw this.providerFailure(e, next);
        }
        this.gone.add(old);
      }
      return this.create(next, plainNews, "replace");
    }
    const created = await this.create(next, plainNews, "replace");
    this.replaced.push(old);
    return created;
  }

  private async create(next: ResourceState, plainNews: Props, kind: Op): Promise<ResourceState> {
    if (this.preview) return this.record({ ...next, id: "", outputs: next.inputs }, kind);
    try {
      const { id, outs } = await this.host.create(next.urn, plainNews);
      return this.record({ ...next, id, outputs: markSecrets(outs, next.inputs, next.additionalSecretOutputs) }, kind);
    } catch (e) {
      throw this.providerFailure(e, next);
    }
  }

  /** Records the failure; with ErrorResourceInitFailed, keeps what exists in state. */
  private providerFailure(e: unknown, next: ResourceState): Error {
    if (e instanceof HostCallError && e.initFailed) {
      this.registered.push({ ...next, id: e.id, outputs: markSecrets(e.outs ?? {}, next.inputs, next.additionalSecretOutputs), initErrors: e.reasons });
    }
    this.failures.push(failureOf(next.urn, e));
    return Object.assign(new Error(`${next.urn}: ${errorMessage(e)}`), { recorded: true });
  }

  private record(r: ResourceState, kind: Op): ResourceState {
    this.registered.push(r);
    if (r.type !== STACK_TYPE) this.operations.push(op(r, kind));
    return r;
  }

  setOutputs(urn: string, outputs: Props): void {
    const r = this.registered.find((x) => x.urn === urn);
    if (r) r.outputs = outputs;
  }

  /** After the program: replaced resources go, then resources the program no longer declares. */
  async finish(): Promise<void> {
    const seen = new Set(this.registered.map((r) => r.urn));
    const removed = this.old.filter((r) => !r.pendingDelete && !seen.has(r.urn));
    if (this.preview) {
      for (const r of removed) if (r.type !== STACK_TYPE) this.operations.push(op(r, "delete"));
      return;
    }
    if (this.failures.length) return; // Pulumi stops scheduling deletes after an error.
    this.failures.push(...await this.engine.deleteAll(this.host, this.replaced, [], this.gone));
    this.failures.push(...await this.engine.deleteAll(this.host, removed, this.operations, this.gone));
  }

  /** The checkpoint after this up: registered resources, what could not be deleted, replaced ones still pending. */
  newState(): ResourceState[] {
    const seen = new Set(this.registered.map((r) => r.urn));
    const left = this.old.filter((r) => !this.gone.has(r) && (r.pendingDelete || !seen.has(r.urn)));
    const pending = this.replaced.filter((r) => !this.gone.has(r)).map((r) => ({ ...r, pendingDelete: true }));
    return [...this.registered, ...left, ...pending];
  }
}

interface RegistrationRequest {
  urn: string; type: string; name: string; custom: boolean; parent?: string; dependencies: string[];
  inputs: Props; additionalSecretOutputs: string[]; deleteBeforeReplace: boolean; replaceOnChanges: string[]; ignoreChanges: string[];
}

/** The resource monitor the program talks to: MockMonitor for invokes/features, our steps for registrations. */
class EngineMonitor extends MockMonitor {
  constructor(private readonly run: Deployment) {
    super({ newResource: () => { throw new Error("unused"); }, call: (args: { token: string }) => { throw new Error(`invoke ${args.token} is not supported by the test engine`); } });
  }

  async registerResource(req: any, callback: (err: unknown, resp?: unknown) => void): Promise<void> {
    const parent = req.getParent() || undefined;
    const urn = urnOf(this.run.engine, parent, req.getType(), req.getName());
    try {
      const r = await this.run.busy(() => this.run.register({
        urn, type: req.getType(), name: req.getName(), custom: req.getCustom(), parent,
        dependencies: [...new Set<string>(req.getDependenciesList())],
        inputs: req.getObject()?.toJavaScript() ?? {},
        additionalSecretOutputs: req.getAdditionalsecretoutputsList(),
        deleteBeforeReplace: req.getDeletebeforereplace(),
        replaceOnChanges: req.getReplaceonchangesList(),
        ignoreChanges: req.getIgnorechangesList(),
      }));
      const resp = new resproto.RegisterResourceResponse();
      resp.setUrn(urn);
      resp.setId(r.id ?? "");
      resp.setObject(Struct.fromJavaScript(r.outputs as any));
      callback(null, resp);
    } catch (e) {
      callback(e);
    }
  }

  registerResourceOutputs(req: any, callback: (err: unknown, resp?: unknown) => void): void {
    this.run.touch();
    this.run.setOutputs(req.getUrn(), req.getOutputs()?.toJavaScript() ?? {});
    callback(null, {});
  }

  readResource(_req: unknown, callback: (err: unknown) => void): void {
    callback(new Error("Resource.get/read is not supported for dynamic resources, nor by the test engine"));
  }
}

/** Pulumi's URN: the parent's type chain (without the root stack) joined by `$`. */
function urnOf(engine: TestEngine, parent: string | undefined, type: string, name: string): string {
  let qualified = type;
  if (parent) {
    const parentType = parent.split("::")[2];
    if (parentType !== STACK_TYPE) qualified = `${parentType}$${type}`;
  }
  return `urn:pulumi:${engine.stack}::${engine.project}::${qualified}::${name}`;
}

function op(r: ResourceState, kind: Op): Operation {
  return { urn: r.urn, type: r.type, name: r.name, op: kind };
}

/** Dependents first: a resource is deleted only after everything that depends on it or is its child. */
export function deletionOrder(victims: ResourceState[]): ResourceState[] {
  const left = [...victims];
  const order: ResourceState[] = [];
  while (left.length) {
    const i = left.findIndex((r) => !left.some((o) => o !== r && (o.dependencies.includes(r.urn) || o.parent === r.urn)));
    // A cycle cannot come from a program; fall back to reverse registration order.
    const next = i >= 0 ? i : left.length - 1;
    order.push(...left.splice(next, 1));
  }
  return order;
}

export function isSecretWire(v: unknown): boolean {
  return !!v && typeof v === "object" && (v as any)[SIG_KEY] === SECRET_SIG;
}

/** Plain values, as the host (acceptSecrets=false) receives them. */
export function unwrapSecrets(v: unknown): unknown {
  if (isSecretWire(v)) return unwrapSecrets((v as any).value);
  if (Array.isArray(v)) return v.map(unwrapSecrets);
  if (v && typeof v === "object") return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, unwrapSecrets(x)]));
  return v;
}

function mapSecrets(v: unknown, seal: (plain: unknown) => unknown): unknown {
  if (isSecretWire(v)) return seal(unwrapSecrets((v as any).value));
  if (Array.isArray(v)) return v.map((x) => mapSecrets(x, seal));
  if (v && typeof v === "object") return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, mapSecrets(x, seal)]));
  return v;
}

/**
 * Pulumi's rule for providers that do not accept secrets: an output is secret when the input of
 * the same top-level key was secret (or contained one), or when it is in additionalSecretOutputs.
 */
function markSecrets(plain: Props, wireInputs: Props, additional: string[] = [], wireOutputs: Props = {}): Props {
  const secretKeys = new Set([...additional, ...Object.keys(wireInputs).filter((k) => containsSecret(wireInputs[k])), ...Object.keys(wireOutputs).filter((k) => containsSecret(wireOutputs[k]))]);
  return Object.fromEntries(Object.entries(plain).map(([k, v]) => [k, secretKeys.has(k) && v !== UNKNOWN ? { [SIG_KEY]: SECRET_SIG, value: v } : v]));
}

function containsSecret(v: unknown): boolean {
  if (isSecretWire(v)) return true;
  if (Array.isArray(v)) return v.some(containsSecret);
  if (v && typeof v === "object") return Object.values(v).some(containsSecret);
  return false;
}

function changedTopLevelKeys(olds: Props, news: Props): string[] {
  const keys = new Set([...Object.keys(olds), ...Object.keys(news)]);
  keys.delete("__provider");
  return [...keys].filter((k) => JSON.stringify(olds[k]) !== JSON.stringify(news[k]));
}

function failureOf(urn: string, e: unknown): Failure {
  if (!(e instanceof HostCallError)) return { urn, message: errorMessage(e) };
  return { urn, rpc: e.rpc, message: `${e.rpc} failed: ${e.message}${e.reasons.length ? ` (${e.reasons.join("; ")})` : ""}` };
}

function errorMessage(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

/**
 * A program that runs a module (e.g. the root `index.ts`) the way `pulumi up` does: its exports
 * become the stack outputs. Modules it loaded last time are dropped from the require cache so a
 * second `up` runs them again.
 */
export function moduleProgram(modulePath: string): Program {
  // A relative path would resolve against this file, not the caller's: only absolute ones.
  if (!path.isAbsolute(modulePath)) throw new Error(`moduleProgram needs an absolute path, got ${modulePath}`);
  let loadedLastTime: string[] = [];
  return () => {
    const resolved = require.resolve(modulePath);
    for (const key of [resolved, ...loadedLastTime]) delete require.cache[key];
    const before = new Set(Object.keys(require.cache));
    const exported = require(resolved);
    loadedLastTime = Object.keys(require.cache).filter((k) => !before.has(k) && !k.includes(`${path.sep}node_modules${path.sep}`));
    return { ...exported };
  };
}
