// The in-process DNS integration files' PowerDNS, through serversOnce: one server per file under mocha,
// kept across mutant runs under Stryker with its zone deleted and made again before each run, so no run
// sees records an earlier (mutated) run left behind.
import { PdnsTsigKey, PowerDnsServer } from "../../devstack/pdns";
import { serversOnce } from "./servers-once";

/** `start(this)` in `before` gives a PowerDNS serving `zone` with `keys`; `stop()` in `after`. */
export function powerDnsWithZone(zone: string, keys: PdnsTsigKey[]) {
  return serversOnce(`pdns ${zone} ${JSON.stringify(keys)}`,
    async (context, stopLater) => stopLater(await PowerDnsServer.startWithZone(context, zone, keys)),
    async (server) => {
      if (!server.running) throw new Error("the kept PowerDNS has exited");
      await server.api("DELETE", `/zones/${zone}.`).catch(() => undefined);
      await server.createZone(zone, keys);
    });
}
