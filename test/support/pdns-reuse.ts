// Under Stryker only, the in-process DNS integration tests keep their PowerDNS across mutant runs: each
// mutant run repeats a file's `before`, and starting pdns_server every time cost seconds per mutant on this
// machine. A reused server gets its zone deleted and made again, so no run sees records an earlier
// (mutated) run left behind. Under plain mocha nothing changes: one server per file, stopped in `after`.
import { spawn } from "child_process";
import { PdnsTsigKey, PowerDnsServer } from "../../devstack/pdns";

/** Set by Stryker in its worker processes, the ones that run the tests against mutants. */
const underStryker = process.env.STRYKER_MUTATOR_WORKER !== undefined;
const kept = new Map<string, { keys: string; server: PowerDnsServer }>();

/** For a mocha `before`: PowerDnsServer.startWithZone, or under Stryker the kept server with `zone` made afresh. */
export async function powerDnsWithZone(context: Mocha.Context, zone: string, keys: PdnsTsigKey[]): Promise<PowerDnsServer> {
  if (!underStryker) return PowerDnsServer.startWithZone(context, zone, keys);
  const wanted = JSON.stringify(keys);
  const cached = kept.get(zone);
  if (cached && cached.keys === wanted && cached.server.running) {
    await cached.server.api("DELETE", `/zones/${zone}.`).catch(() => undefined);
    await cached.server.createZone(zone, keys);
    return cached.server;
  }
  await cached?.server.stop();
  const server = await PowerDnsServer.startWithZone(context, zone, keys);
  kept.set(zone, { keys: wanted, server });
  // A worker that exits by itself takes its servers along here; one Stryker kills (after a timeout, or at
  // the end) runs no handler, so a watchdog outside its process tree ends the server and its files then.
  process.once("exit", () => server.killNow());
  const watchdog = `while kill -0 ${process.pid} 2>/dev/null; do sleep 2; done; ` +
    `grep -qF '${server.dir}' /proc/${server.pid}/cmdline 2>/dev/null && kill -9 ${server.pid}; rm -rf '${server.dir}'`;
  spawn("sh", ["-c", `(${watchdog}) >/dev/null 2>&1 &`], { stdio: "ignore" }).unref();
  return server;
}

/** For a mocha `after`: stops the server, except a kept one under Stryker. */
export async function releasePowerDns(server: PowerDnsServer | undefined): Promise<void> {
  if (!underStryker) await server?.stop();
}
