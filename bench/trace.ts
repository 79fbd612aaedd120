// `npx ts-node --transpile-only bench/trace.ts [--seed N] [--runs N] [--nodes N] [--quick]`: one lone create through the provider
// host, printed request by request against the sandbox's own task timeline, so every request can be
// judged (needed or not), every poll's lag after a task's real end read off, and the Create RPC's own begin and return
// shown (the time before the first request and after the last answer). Figures, not a test.

import { startSandbox } from "../sandbox";
import { DEFAULT_TEMPLATE } from "../sandbox/server/cluster";
import { LaunchpadContainer } from "../src/container";
import { TestEngine, proxmoxConfig } from "../devstack/engine";
import { DynamicProviderHost } from "../devstack/host";
import { drawTimes, seededRandom } from "./stats";

/** When each Create RPC to a provider host began and returned (ms since the epoch): the time outside the API's view. */
function timeCreateRpcs(): Array<{ begun: number; returned?: number }> {
  const calls: Array<{ begun: number; returned?: number }> = [];
  const original = DynamicProviderHost.prototype.create;
  DynamicProviderHost.prototype.create = async function (this: DynamicProviderHost, ...args: Parameters<typeof original>) {
    const call: { begun: number; returned?: number } = { begun: Date.now() };
    calls.push(call);
    try {
      return await original.apply(this, args);
    } finally {
      call.returned = Date.now();
    }
  };
  return calls;
}

async function main(): Promise<void> {
  const argv = process.argv.slice(2);
  const seed = Number(argv[argv.indexOf("--seed") + 1] ?? 1) || 1;
  const div = argv.includes("--quick") ? 20 : 1;
  const runs = Number(argv[argv.indexOf("--runs") + 1]) || 1;
  const random = seededRandom(seed);
  const means = { createMs: 8000 / div, startMs: 2000 / div, ipMs: 3000 / div, pullMs: 20000 / div };
  const nodes = Number(argv[argv.indexOf("--nodes") + 1]) || 3;
  const rpcs = timeCreateRpcs();
  const sandbox = await startSandbox({ nodes: Array.from({ length: nodes }, (_, i) => `pve${i + 1}`) });
  try {
    for (let run = 1; run <= runs; run++) {
      const drawn = drawTimes(means, random);
      sandbox.setTimings({ taskDurationsMs: { vzcreate: drawn.createMs, vzstart: drawn.startMs }, ipDelayMs: drawn.ipMs });
      const engine = new TestEngine({
        project: "launchpad-trace", stack: `trace-${run}`,
        ...proxmoxConfig(sandbox),
        env: { PROXMOX_VE_ENDPOINT: undefined, PROXMOX_VE_API_TOKEN: undefined, PROXMOX_VE_USERNAME: undefined, PROXMOX_VE_PASSWORD: undefined },
      });
      try {
        sandbox.resetRequests();
        const before = sandbox.timeline().tasks.length;
        const rpcsBefore = rpcs.length;
        await engine.up(() => ({ vmid: new LaunchpadContainer(`trace-${run}`, { hostname: `trace-${run}`, template: DEFAULT_TEMPLATE }).vmid }));
        const timeline = sandbox.timeline();
        const t0 = Math.min(...sandbox.requests.map((r) => r.time.getTime()));
        const events = [
          ...sandbox.requests.map((r) => ({ at: r.time.getTime() - t0, text: `${r.method} ${r.path}${r.method === "GET" && Object.keys(r.params).length ? "?" + new URLSearchParams(r.params as Record<string, string>) : ""} -> ${r.status} (${r.durationMs} ms)` })),
          ...timeline.tasks.slice(before).flatMap((t) => [{ at: t.startedMs - t0, text: `  [task ${t.type} ${t.id} starts]` }, ...(t.endedMs ? [{ at: t.endedMs - t0, text: `  [task ${t.type} ${t.id} ends]` }] : [])]),
          ...timeline.starts.slice(-1).map((s) => ({ at: s.leasedMs - t0, text: `  [CT ${s.vmid} address shows]` })),
          ...rpcs.slice(rpcsBefore).flatMap((c) => [{ at: c.begun - t0, text: "  [Create RPC begins]" }, { at: c.returned! - t0, text: "  [Create RPC returns]" }]),
        ].sort((a, b) => a.at - b.at);
        process.stdout.write(`run ${run}: drawn ${JSON.stringify(drawn)}; ${sandbox.requests.length} requests\n`);
        for (const e of events) process.stdout.write(`${String(Math.round(e.at)).padStart(7)} ms  ${e.text}\n`);
        await engine.destroy();
      } finally {
        await engine.close();
      }
    }
  } finally {
    await sandbox.close();
  }
}

main().catch((error) => { process.stderr.write(`${error?.stack ?? error}\n`); process.exitCode = 1; });
