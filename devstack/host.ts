import { ChildProcess, spawn } from "child_process";
import * as path from "path";
import * as readline from "readline";
import * as grpc from "@grpc/grpc-js";

/* eslint-disable @typescript-eslint/no-require-imports */
// @pulumi/pulumi carries its own google-protobuf 3.x; its generated messages accept only that copy's Struct.
const pulumiDir = path.dirname(require.resolve("@pulumi/pulumi/package.json"));
export const Struct: typeof import("google-protobuf/google/protobuf/struct_pb").Struct =
  require(require.resolve("google-protobuf/google/protobuf/struct_pb", { paths: [pulumiDir] })).Struct;
const provrpc = require("@pulumi/pulumi/proto/provider_grpc_pb");
const provproto = require("@pulumi/pulumi/proto/provider_pb");
const statusproto = require("@pulumi/pulumi/proto/status_pb");

/** What preview sends for a value not known yet (runtime/rpc `unknownValue`). */
export const UNKNOWN = "04da6b54-80e4-46f7-96ec-b56ff0331ba9";

/** The repository root: the host runs there so `require("pulumi-launchpad/...")` resolves via node_modules. */
export const REPO_ROOT = path.resolve(__dirname, "..");

export type Props = Record<string, unknown>;
export type HostRpc = "Configure" | "Check" | "Diff" | "Create" | "Update" | "Delete" | "Read";

export interface CheckResult { inputs: Props; failures: Array<{ property: string; reason: string }>; }
export interface DiffResult { changes: "none" | "some" | "unknown"; replaces: string[]; deleteBeforeReplace: boolean; }
export interface ReadResult { id: string; props: Props; inputs?: Props; }

/**
 * A Create or Update the provider rejected. When the provider threw an error carrying `id`
 * (the host turns it into `ErrorResourceInitFailed`), `id`, `outs` and `reasons` say what now
 * exists, so the engine keeps tracking it instead of leaking it.
 */
export class HostCallError extends Error {
  constructor(
    readonly rpc: HostRpc,
    message: string,
    readonly id?: string,
    readonly outs?: Props,
    readonly reasons: string[] = [],
  ) {
    super(message);
    this.name = "HostCallError";
  }
  get initFailed(): boolean { return this.id !== undefined && this.id !== ""; }
}

export interface HostOptions {
  /** Extra environment for the host process (e.g. PROXMOX_VE_*); a value of `undefined` removes the variable. */
  env?: Record<string, string | undefined>;
  cwd?: string;
  project?: string;
  stack?: string;
}

/**
 * Hosts not stopped yet. A test process that exits without `stop()` (mocha --exit after a failure) must not
 * leave them behind: one exit listener kills them all, not one per host (the bench runs 50 at once, past
 * Node's 10-listener warning).
 */
const running = new Set<ChildProcess>();
process.on("exit", () => {
  for (const child of running) child.kill("SIGKILL");
});

/**
 * The real `@pulumi/pulumi/cmd/dynamic-provider` host in a child process, driven over gRPC
 * exactly as `pulumi up` drives it. Its stdout/stderr (the provider's console passthrough)
 * land in `logs`.
 */
export class DynamicProviderHost {
  readonly logs: string[] = [];
  readonly calls: Record<HostRpc, number> = { Configure: 0, Check: 0, Diff: 0, Create: 0, Update: 0, Delete: 0, Read: 0 };
  private exited = false;

  private client: any;
  private port = 0;

  /** The host process's id. */
  get pid(): number | undefined {
    return this.child.pid;
  }

  private constructor(private readonly child: ChildProcess) {
    running.add(child);
    child.once("exit", () => { this.exited = true; running.delete(child); });
  }

  static async start(options: HostOptions = {}): Promise<DynamicProviderHost> {
    const entry = require.resolve("@pulumi/pulumi/cmd/dynamic-provider");
    const env: NodeJS.ProcessEnv = { ...process.env };
    // The host reads the project for `config.get("key")` (project-relative keys) from here.
    env.PULUMI_NODEJS_PROJECT = options.project ?? "launchpad-test";
    env.PULUMI_NODEJS_STACK = options.stack ?? "dev";
    for (const [k, v] of Object.entries(options.env ?? {})) {
      if (v === undefined) delete env[k]; else env[k] = v;
    }
    // The engine address is required but unused by this host: it never dials the engine.
    const child = spawn(process.execPath, [entry, "127.0.0.1:1"], { cwd: options.cwd ?? REPO_ROOT, env, stdio: ["ignore", "pipe", "pipe"] });
    const host = new DynamicProviderHost(child);
    readline.createInterface({ input: child.stderr! }).on("line", (line) => host.logs.push(line));
    const stdout = readline.createInterface({ input: child.stdout! });
    const portLine = new Promise<number>((resolve, reject) => {
      const onExit = (code: number | null) => reject(new Error(`dynamic-provider host exited (${code}) before printing its port: ${host.logs.join("\n")}`));
      child.once("exit", onExit);
      child.once("error", reject);
      let first = true;
      stdout.on("line", (line) => {
        if (!first) { host.logs.push(line); return; }
        first = false;
        child.off("exit", onExit);
        const n = Number(line.trim());
        if (Number.isInteger(n) && n > 0) resolve(n); else reject(new Error(`unexpected first line from host: ${line}`));
      });
    });
    try {
      host.port = await portLine;
    } catch (e) {
      await host.stop();
      throw e;
    }
    host.client = new provrpc.ResourceProviderClient(`127.0.0.1:${host.port}`, grpc.credentials.createInsecure());
    return host;
  }

  /** Sends the stack config (keys like `launchpad:endpoint`; secret values in plain, the host unwraps). */
  async configure(config: Record<string, string>): Promise<void> {
    const req = new provproto.ConfigureRequest();
    req.setArgs(Struct.fromJavaScript(config as any));
    req.setAcceptsecrets(true);
    req.setAcceptresources(true);
    await this.unary("Configure", "configure", req);
  }

  async check(urn: string, olds: Props, news: Props): Promise<CheckResult> {
    const req = new provproto.CheckRequest();
    req.setUrn(urn);
    req.setOlds(toStruct(olds));
    req.setNews(toStruct(news));
    const resp = await this.unary("Check", "check", req);
    return {
      inputs: resp.getInputs()?.toJavaScript() ?? {},
      failures: resp.getFailuresList().map((f: any) => ({ property: f.getProperty(), reason: f.getReason() })),
    };
  }

  async diff(urn: string, id: string, olds: Props, news: Props, oldInputs: Props): Promise<DiffResult> {
    const req = new provproto.DiffRequest();
    req.setUrn(urn);
    req.setId(id);
    req.setOlds(toStruct(olds));
    req.setNews(toStruct(news));
    req.setOldInputs(toStruct(oldInputs));
    const resp = await this.unary("Diff", "diff", req);
    const kinds = provproto.DiffResponse.DiffChanges;
    const changes = resp.getChanges() === kinds.DIFF_SOME ? "some" : resp.getChanges() === kinds.DIFF_NONE ? "none" : "unknown";
    return { changes, replaces: resp.getReplacesList(), deleteBeforeReplace: resp.getDeletebeforereplace() };
  }

  async create(urn: string, props: Props): Promise<{ id: string; outs: Props }> {
    const req = new provproto.CreateRequest();
    req.setUrn(urn);
    req.setProperties(toStruct(props));
    const resp = await this.unary("Create", "create", req);
    return { id: resp.getId(), outs: resp.getProperties()?.toJavaScript() ?? {} };
  }

  async update(urn: string, id: string, olds: Props, news: Props, oldInputs: Props): Promise<{ outs: Props }> {
    const req = new provproto.UpdateRequest();
    req.setUrn(urn);
    req.setId(id);
    req.setOlds(toStruct(olds));
    req.setNews(toStruct(news));
    req.setOldInputs(toStruct(oldInputs));
    const resp = await this.unary("Update", "update", req);
    return { outs: resp.getProperties()?.toJavaScript() ?? {} };
  }

  async delete(urn: string, id: string, props: Props, oldInputs: Props): Promise<void> {
    const req = new provproto.DeleteRequest();
    req.setUrn(urn);
    req.setId(id);
    req.setProperties(toStruct(props));
    req.setOldInputs(toStruct(oldInputs));
    await this.unary("Delete", "delete", req);
  }

  /** `id` comes back empty when the provider says the resource is gone. */
  async read(urn: string, id: string, props: Props, inputs: Props): Promise<ReadResult> {
    const req = new provproto.ReadRequest();
    req.setUrn(urn);
    req.setId(id);
    req.setProperties(toStruct(props));
    req.setInputs(toStruct(inputs));
    const resp = await this.unary("Read", "read", req);
    return { id: resp.getId(), props: resp.getProperties()?.toJavaScript() ?? {}, inputs: resp.getInputs()?.toJavaScript() };
  }

  /** Stops the host; resolves once the process is gone. */
  async stop(): Promise<void> {
    this.client?.close();
    if (this.exited) return;
    const gone = new Promise<void>((resolve) => this.child.once("exit", () => resolve()));
    this.child.kill("SIGTERM");
    const timer = setTimeout(() => this.child.kill("SIGKILL"), 5_000);
    await gone;
    clearTimeout(timer);
  }

  private unary(rpc: HostRpc, method: string, req: unknown): Promise<any> {
    this.calls[rpc]++;
    return new Promise((resolve, reject) => {
      this.client[method](req, (err: grpc.ServiceError | null, resp: any) => {
        if (err) reject(toHostCallError(rpc, err)); else resolve(resp);
      });
    });
  }
}

function toStruct(props: Props) {
  // Struct cannot hold `undefined`: drop such keys, as the engine's serializer does.
  return Struct.fromJavaScript(JSON.parse(JSON.stringify(props ?? {})));
}

/** Unpacks `ErrorResourceInitFailed` from `grpc-status-details-bin`, where the host puts it. */
function toHostCallError(rpc: HostRpc, err: grpc.ServiceError): HostCallError {
  const message = err.details || err.message;
  const raw = err.metadata?.get("grpc-status-details-bin")?.[0];
  if (raw) {
    const status = statusproto.Status.deserializeBinary(Buffer.isBuffer(raw) ? raw : Buffer.from(String(raw), "base64"));
    for (const any of status.getDetailsList()) {
      if (any.getTypeName() !== "pulumirpc.ErrorResourceInitFailed") continue;
      const detail = provproto.ErrorResourceInitFailed.deserializeBinary(any.getValue_asU8());
      return new HostCallError(rpc, message, detail.getId(), detail.getProperties()?.toJavaScript() ?? {}, detail.getReasonsList());
    }
  }
  return new HostCallError(rpc, message);
}
