// Two ways to run the root program (index.ts) for the demo: the Pulumi CLI with a local file
// backend when it is installed, otherwise the e2e test engine (the same program, every dynamic
// resource through the real dynamic-provider host, state in a local file).
import { spawn, spawnSync } from "child_process";
import * as crypto from "crypto";
import * as fs from "fs";
import * as path from "path";
import { stackName } from "../src/naming";
import { RunResult, TestEngine, moduleProgram } from "./engine";
import { HEREDOC_END, PreviewStack, Progress, REPO_ROOT, StackConfig } from "./preview-stack";

export interface ProgramRunner {
  readonly engine: "pulumi" | "test-engine";
  readonly stack: string;
  /** `pulumi up` with this config; resolves to the stack outputs. */
  up(config: StackConfig): Promise<Record<string, unknown>>;
  /** The container host key the deploy step pinned (trusted on first use), from state. */
  deployHostKey(): Promise<string | undefined>;
  destroy(): Promise<void>;
  /** Ends anything still running (a Ctrl-C during `up`). */
  close(): Promise<void>;
}

/** The resource name of the deploy step: the root program's component is `preview`. */
const DEPLOY_RESOURCE = "preview-deploy";

/** Host log lines as progress, with the app's source (a heredoc in a deploy command) folded to one line. */
function logFolded(lines: string[], log: Progress): void {
  let folded = -1;
  for (const line of lines.flatMap((entry) => entry.split("\n"))) {
    if (folded >= 0) {
      if (line.trim() === HEREDOC_END) { log(`    ... ${folded} lines of demo/app/server.js ...`); folded = -1; } else folded++;
      continue;
    }
    if (line.includes(`<<'${HEREDOC_END}'`)) folded = 0;
    if (line.trim()) log(`  ${line}`);
  }
}

export function pulumiCliVersion(): string | undefined {
  const result = spawnSync("pulumi", ["version"], { encoding: "utf8", env: { ...process.env, PULUMI_SKIP_UPDATE_CHECK: "true" } });
  return result.status === 0 ? result.stdout.trim() : undefined;
}

export function chooseRunner(stack: PreviewStack, branch: string, log: Progress): ProgramRunner {
  const version = pulumiCliVersion();
  if (version) {
    log(`engine: the Pulumi CLI ${version}, local file backend in ${stack.run.dir}`);
    return new PulumiCliRunner(stack, stackName(branch), log);
  }
  log("engine: the Pulumi CLI is not installed (`pulumi version` failed), so the e2e test engine runs index.ts: "
    + "the same program, every resource through the real dynamic-provider host, state in a local file");
  return new TestEngineRunner(stack, stackName(branch), log);
}

export class TestEngineRunner implements ProgramRunner {
  readonly engine = "test-engine" as const;
  private readonly stateFile: string;
  private readonly passphrase = crypto.randomBytes(18).toString("base64url");
  private readonly program = moduleProgram(path.join(REPO_ROOT, "index.ts"));
  private current?: TestEngine;
  private config?: StackConfig;
  /** The last command's result: operations per resource, host logs. */
  lastRun?: RunResult;

  constructor(private readonly preview: PreviewStack, readonly stack: string, private readonly log: Progress) {
    this.stateFile = path.join(preview.run.dir, "engine-state", "state.json");
  }

  /** One engine per command and config, on one state file: as separate `pulumi` invocations are. */
  private engineFor(config: StackConfig): TestEngine {
    this.config = config;
    this.current = new TestEngine({
      project: this.preview.project, stack: this.stack, config: config.config, secretConfig: config.secretConfig,
      env: this.preview.env, stateFile: this.stateFile, passphrase: this.passphrase,
    });
    return this.current;
  }

  async up(config: StackConfig): Promise<Record<string, unknown>> {
    const engine = this.engineFor(config);
    try {
      const result = await engine.up(this.program);
      this.lastRun = result;
      logFolded(result.logs, this.log);
      const counts = new Map<string, number>();
      for (const operation of result.operations) counts.set(operation.op, (counts.get(operation.op) ?? 0) + 1);
      this.log(`  resources: ${[...counts].map(([op, n]) => `${n} ${op}`).join(", ")}`);
      return result.outputs;
    } finally {
      await engine.close();
    }
  }

  /** A resource of the last saved state by name, secrets unwrapped. */
  resource(name: string): ReturnType<TestEngine["resource"]> {
    return this.current?.resource(name);
  }

  async deployHostKey(): Promise<string | undefined> {
    const key = this.current?.resource(DEPLOY_RESOURCE)?.plainOutputs.knownHostKey;
    return typeof key === "string" ? key : undefined;
  }

  async destroy(): Promise<void> {
    const engine = this.engineFor(this.config ?? { config: {}, secretConfig: {} });
    try {
      const result = await engine.destroy();
      this.lastRun = result;
      this.log(`  resources: ${result.operations.length} deleted`);
    } finally {
      await engine.close();
    }
  }

  async close(): Promise<void> {
    await this.current?.close();
  }
}

export class PulumiCliRunner implements ProgramRunner {
  readonly engine = "pulumi" as const;
  private readonly env: NodeJS.ProcessEnv;
  private readonly children = new Set<ReturnType<typeof spawn>>();
  private initialized = false;
  /** Stack settings outside the repository: `pulumi config set` would otherwise write Pulumi.<stack>.yaml next to index.ts. */
  private readonly configFile: string;

  constructor(preview: PreviewStack, readonly stack: string, private readonly log: Progress) {
    const stateDir = path.join(preview.run.dir, "pulumi-state");
    fs.mkdirSync(stateDir, { recursive: true });
    this.configFile = path.join(preview.run.dir, `Pulumi.${stack}.yaml`);
    this.env = {
      ...process.env,
      ...preview.env,
      PULUMI_BACKEND_URL: `file://${stateDir}`,
      PULUMI_CONFIG_PASSPHRASE: crypto.randomBytes(18).toString("base64url"),
      PULUMI_SKIP_UPDATE_CHECK: "true",
      PULUMI_DIY_BACKEND_NO_LEGACY_WARNING: "true",
    };
  }

  /** Runs `pulumi <args>` in the repository; output goes to stderr as progress, or is returned with `capture`. */
  private pulumi(args: string[], options: { input?: string; capture?: boolean } = {}): Promise<string> {
    return new Promise((resolve, reject) => {
      const child = spawn("pulumi", [...args, "--non-interactive", "--cwd", REPO_ROOT, "--config-file", this.configFile], {
        env: this.env, stdio: ["pipe", "pipe", "pipe"],
      });
      this.children.add(child);
      let stdout = "";
      let stderr = "";
      child.stdout!.setEncoding("utf8").on("data", (chunk: string) => {
        if (options.capture) stdout += chunk;
        else for (const line of chunk.split("\n")) if (line.trim()) this.log(`  ${line}`);
      });
      child.stderr!.setEncoding("utf8").on("data", (chunk: string) => { stderr += chunk; });
      child.stdin!.end(options.input ?? "");
      child.on("error", reject);
      child.on("close", (code) => {
        this.children.delete(child);
        if (code === 0) resolve(stdout);
        else reject(new Error(`pulumi ${args[0]} exited with ${code}: ${stderr.trim().split("\n").slice(-15).join("\n")}`));
      });
    });
  }

  async up(config: StackConfig): Promise<Record<string, unknown>> {
    if (!this.initialized) {
      await this.pulumi(["stack", "init", this.stack]);
      this.initialized = true;
    }
    for (const [key, value] of Object.entries(config.config)) {
      // Values go over stdin: a PEM or JSON value never has to survive argument parsing.
      await this.pulumi(["config", "set", "--stack", this.stack, "--plaintext", key], { input: value });
    }
    for (const [key, value] of Object.entries(config.secretConfig)) {
      await this.pulumi(["config", "set", "--stack", this.stack, "--secret", key], { input: value });
    }
    await this.pulumi(["up", "--stack", this.stack, "--yes", "--skip-preview"]);
    return JSON.parse(await this.pulumi(["stack", "output", "--stack", this.stack, "--json", "--show-secrets"], { capture: true }));
  }

  async deployHostKey(): Promise<string | undefined> {
    const exported = JSON.parse(await this.pulumi(["stack", "export", "--stack", this.stack, "--show-secrets"], { capture: true })) as {
      deployment?: { resources?: Array<{ urn: string; outputs?: Record<string, unknown> }> };
    };
    const deploy = exported.deployment?.resources?.find((resource) => resource.urn.endsWith(`::${DEPLOY_RESOURCE}`));
    const key = deploy?.outputs?.knownHostKey;
    return typeof key === "string" ? key : undefined;
  }

  async destroy(): Promise<void> {
    await this.pulumi(["destroy", "--stack", this.stack, "--yes", "--skip-preview"]);
    await this.pulumi(["stack", "rm", "--stack", this.stack, "--yes"]);
  }

  async close(): Promise<void> {
    for (const child of this.children) child.kill("SIGINT");
    this.children.clear();
  }
}
