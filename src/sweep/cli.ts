#!/usr/bin/env node
// `npx pulumi-launchpad sweep`: finds previews past their expiry, previews whose branch is gone,
// and containers with our identity tag that no stack tracks; lists them (the default, --dry-run)
// or removes each with its routes and DNS records (--apply). Prints a table, then one JSON line.
import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import { parseArgs } from "node:util";
import { clientFor } from "../../provider/container/apply";
import { clusterResources } from "../../provider/container/cluster";
import { parseTags } from "../../provider/container/render";
import { redact } from "../../provider/errors";
import { stackName } from "../naming";
import { judge, type ListedContainer, type Verdict } from "./plan";
import { parseTargets, removePreview, type Removal } from "./remove";
import { readTrackedState } from "./state";
import { parseDuration } from "./tags";

export const USAGE = `usage: pulumi-launchpad sweep [--dry-run | --apply] [--older-than 7d] [--branches-from FILE|GIT-REMOTE]
                              [--state DIR] [--config FILE]

  --dry-run             list what would be removed (the default)
  --apply               remove it: routes, DNS records, then the container, as \`pulumi destroy\` does
  --older-than D        also remove previews not renewed by an \`up\` for D (90m, 36h, 7d, 2w)
  --branches-from S     the branches that exist: a file with one branch per line, or a git remote
                        (\`git ls-remote --heads S\`); previews of other branches are removed
  --state DIR           a Pulumi file backend directory (default: PULUMI_BACKEND_URL when file://);
                        containers no stack there tracks are removed. Other backends cannot be read.
  --config FILE         JSON {"proxy": {...}, "dns": {"zone", "server": {...}}}: where routes and records
                        live (the proxy as in preview:proxy; private key from LAUNCHPAD_PROXY_PRIVATE_KEY,
                        DNS API key or TSIG secret from LAUNCHPAD_DNS_SECRET)

Proxmox credentials: PROXMOX_VE_ENDPOINT, PROXMOX_VE_API_TOKEN, PROXMOX_VE_FINGERPRINT (or _INSECURE).
Only containers carrying Launchpad's identity tag are ever considered.`;

export interface SweepOptions {
  apply: boolean;
  olderThanMs?: number;
  branchesFrom?: string;
  state?: string;
  config?: string;
}

export function parseSweepArgs(argv: string[]): SweepOptions | "help" {
  const { values, positionals } = parseArgs({
    args: argv,
    options: {
      "dry-run": { type: "boolean" },
      apply: { type: "boolean" },
      "older-than": { type: "string" },
      "branches-from": { type: "string" },
      state: { type: "string" },
      config: { type: "string" },
      help: { type: "boolean", short: "h" },
    },
    allowPositionals: true,
    strict: true,
  });
  if (values.help) return "help";
  if (positionals.length > 0) throw new Error(`unexpected argument '${positionals[0]}'`);
  if (values.apply && values["dry-run"]) throw new Error("Only one of --apply and --dry-run can be given");
  const olderThan = values["older-than"];
  const olderThanMs = olderThan === undefined ? undefined : parseDuration(olderThan);
  if (olderThan !== undefined && olderThanMs === undefined) throw new Error(`--older-than: '${olderThan}' is not a duration like 90m, 36h, 7d or 2w`);
  return { apply: values.apply === true, olderThanMs, branchesFrom: values["branches-from"], state: values.state, config: values.config };
}

/** The branches that exist, in the `lp-branch-` tag's form. */
export function readBranches(source: string): Set<string> {
  const names = fs.existsSync(source)
    ? fs.readFileSync(source, "utf8").split("\n")
    : execFileSync("git", ["ls-remote", "--heads", "--", source], { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] })
        .split("\n")
        .map((line) => line.split("\t")[1] ?? "");
  const branches = names.map((line) => line.trim()).filter(Boolean);
  // A remote that lists nothing would make every preview's branch "gone": refuse rather than sweep all.
  if (branches.length === 0) throw new Error(`--branches-from ${source}: no branches listed`);
  return new Set(branches.map(stackName));
}

const when = (time?: Date) => (time ? time.toISOString().slice(0, 16).replace("T", " ") : "-");

function table(verdicts: readonly Verdict[]): string {
  const rows = [["VMID", "NODE", "NAME", "STACK", "BRANCH", "EXPIRES", "ACTION", "WHY"]];
  for (const v of verdicts) {
    rows.push([
      String(v.container.vmid), v.container.node, v.container.name ?? "-", v.labels.stack ?? "-", v.labels.branch ?? "-", when(v.labels.expiresAt),
      v.reasons.length > 0 ? "remove" : "keep", v.reasons.join(",") || v.spared || "-",
    ]);
  }
  const widths = rows[0].map((_, i) => Math.max(...rows.map((row) => row[i].length)));
  return rows.map((row) => row.map((cell, i) => cell.padEnd(widths[i])).join("  ").trimEnd()).join("\n");
}

export interface SweepSummary {
  mode: "dry-run" | "apply";
  backend: string;
  untrackedJudged: boolean;
  considered: number;
  remove: { vmid: number; node: string; name?: string; stack?: string; reasons: string[] }[];
  removed: Removal[];
  failed: { vmid: number; error: string }[];
  kept: number;
}

export async function sweep(options: SweepOptions, out: (line: string) => void = (line) => process.stdout.write(`${line}\n`), err: (line: string) => void = (line) => process.stderr.write(`${line}\n`)): Promise<SweepSummary> {
  // Everything that can be wrong with the options is found before Proxmox is asked anything.
  const targets = parseTargets(options.config === undefined ? {} : JSON.parse(fs.readFileSync(options.config, "utf8")));
  const branches = options.branchesFrom === undefined ? undefined : readBranches(options.branchesFrom);
  const state = readTrackedState(options.state);
  if (!state.known) err(`sweep: state backend ${state.backend}: ${state.reason}`);

  const client = clientFor({});
  try {
    const listed: ListedContainer[] = (await clusterResources(client, "vm"))
      .filter((r) => r.type === "lxc" && r.node !== undefined)
      .map((r) => ({ node: r.node!, vmid: Number(r.vmid), name: r.name, status: r.status, tags: parseTags(r.tags) }));
    const verdicts = judge(listed, {
      now: new Date(),
      olderThanMs: options.olderThanMs,
      branches,
      tracked: state.known ? state.tracked : undefined,
      busyStacks: state.known ? state.busyStacks : undefined,
    });
    out(table(verdicts));
    const going = verdicts.filter((v) => v.reasons.length > 0);
    const keptHostnames = new Set(listed.filter((c) => !going.some((v) => v.container.vmid === c.vmid)).map((c) => c.name).filter((n): n is string => n !== undefined));
    const summary: SweepSummary = {
      mode: options.apply ? "apply" : "dry-run",
      backend: state.backend,
      untrackedJudged: state.known,
      considered: verdicts.length,
      remove: going.map((v) => ({ vmid: v.container.vmid, node: v.container.node, name: v.container.name, stack: v.labels.stack, reasons: v.reasons })),
      removed: [],
      failed: [],
      kept: verdicts.length - going.length,
    };
    if (options.apply) {
      for (const verdict of going) {
        try {
          const removal = await removePreview(client, verdict, targets, keptHostnames);
          summary.removed.push(removal);
          err(`sweep: removed CT ${removal.vmid}: ${removal.routes.length} route(s), ${removal.records.length} record set(s)${removal.notes.length ? ` (${removal.notes.join("; ")})` : ""}`);
        } catch (error) {
          summary.failed.push({ vmid: verdict.container.vmid, error: redact((error as Error).message) });
          err(`sweep: CT ${verdict.container.vmid}: ${redact((error as Error).message)}`);
        }
      }
    } else if (going.length > 0) {
      err(`sweep: dry run: ${going.length} container(s) would be removed; run with --apply to remove them`);
    }
    out(JSON.stringify(summary));
    return summary;
  } finally {
    await client.close();
  }
}

async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  if (command === undefined || command === "--help" || command === "-h" || command === "help") {
    process.stdout.write(`${USAGE}\n`);
    return command === undefined ? 2 : 0;
  }
  if (command !== "sweep") throw new Error(`unknown command '${command}'\n${USAGE}`);
  const options = parseSweepArgs(rest);
  if (options === "help") {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }
  const summary = await sweep(options);
  return summary.failed.length > 0 ? 1 : 0;
}

if (require.main === module) {
  main(process.argv.slice(2)).then(
    (code) => process.exit(code),
    (error) => {
      process.stderr.write(`pulumi-launchpad: ${redact((error as Error).message)}\n`);
      process.exit(2);
    },
  );
}
