// Writes to one zone from this process go one at a time. PowerDNS applies each change in a
// database transaction and answers a concurrent one with HTTP 500 / SERVFAIL ("database is
// locked" on sqlite) rather than waiting; the dynamic-provider host runs every DnsRecord of a
// stack in one process, so queuing here keeps a stack from colliding with itself.
const tails = new Map<string, Promise<unknown>>();

export async function withZoneLock<T>(zone: string, write: () => Promise<T>): Promise<T> {
  const previous = tails.get(zone) ?? Promise.resolve();
  const run = previous.then(write, write);
  const tail = run.catch(() => undefined);
  tails.set(zone, tail);
  try {
    return await run;
  } finally {
    if (tails.get(zone) === tail) tails.delete(zone);
  }
}
