// Pure port bookkeeping for stream routes: what is claimed, what is listening, what is free.

/** Ports the `listen` lines of stream route files already claim, per protocol. */
export function claimedStreamPorts(files: readonly string[]): { tcp: Set<number>; udp: Set<number> } {
  const claimed = { tcp: new Set<number>(), udp: new Set<number>() };
  for (const text of files) {
    for (const match of text.matchAll(/^\s*listen\s+(?:\S*:)?(\d+)([^;]*);/gm)) {
      const protocol = /\budp\b/.test(match[2]) ? "udp" : "tcp";
      claimed[protocol].add(Number(match[1]));
    }
  }
  return claimed;
}

/** Ports in `ss -Hln[tu]` output (local address column). */
export function listeningPorts(ssOutput: string): Set<number> {
  const ports = new Set<number>();
  for (const line of ssOutput.split("\n")) {
    const local = line.trim().split(/\s+/)[3];
    const match = local?.match(/:(\d+)$/);
    if (match) ports.add(Number(match[1]));
  }
  return ports;
}

/** The lowest port in the range that nobody claims, or undefined when the range is full. */
export function allocatePort(range: { from: number; to: number }, taken: ReadonlySet<number>): number | undefined {
  for (let port = range.from; port <= range.to; port++) if (!taken.has(port)) return port;
  return undefined;
}
