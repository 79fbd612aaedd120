// Is a stream route working? For an SSH route: an SSH server sends its `SSH-2.0-...` banner first,
// so reading the first bytes through nginx's port tells a working route from one that leads nowhere
// (nginx accepts, then closes when its upstream refuses). Read from the proxy host itself, through
// a forwarded channel, because the port may be reachable only there.

import * as net from "net";
import { SshConnectError } from "../errors";
import { openTunnel } from "../deploy/tunnel";
import { backoff, done, notYet, pollUntil } from "../poll";
import type { ProxyHost } from "./schema";

export const SSH_BANNER = "SSH-";
const PROBE_SCHEDULE = backoff({ initialMs: 250, factor: 2, maxMs: 3000 });
const READ_TIMEOUT_MS = 5000;

/** The first `length` bytes `port` sends, or an error (closed early, refused, silent). */
export function readBanner(host: string, port: number, length: number, timeoutMs: number): Promise<string> {
  return new Promise((resolve, reject) => {
    let received = Buffer.alloc(0);
    const socket = net.connect({ host, port });
    const done = (error?: Error) => {
      clearTimeout(timer);
      socket.destroy();
      if (error) reject(error);
      else resolve(received.toString("latin1"));
    };
    const timer = setTimeout(() => done(new Error(`nothing came within ${Math.round(timeoutMs / 1000)} s`)), timeoutMs);
    socket.on("data", (chunk: Buffer) => {
      received = Buffer.concat([received, chunk]);
      if (received.length >= length) done();
    });
    socket.on("error", (error) => done(error));
    socket.on("end", () => done(new Error(received.length ? `closed after ${JSON.stringify(received.toString("latin1"))}` : "closed before any byte came (nothing answers behind the route?)")));
  });
}

/**
 * Waits until an SSH server answers through `port` on the proxy host (nginx's listener, so the
 * whole path is tried), or fails after `timeoutSeconds` with what the last attempt saw.
 */
export async function waitForSshThroughRoute(proxy: ProxyHost, port: number, target: { host: string; port: number }, timeoutSeconds: number): Promise<void> {
  const listener = { host: proxy.listenAddress ?? "127.0.0.1", port };
  const tunnel = await openTunnel(proxy, listener);
  const deadline = Date.now() + timeoutSeconds * 1000;
  const what = `no SSH server answered through ${proxy.host}:${port} (routed to ${target.host}:${target.port}) within ${timeoutSeconds} s`;
  let lastError: unknown;
  try {
    await pollUntil(deadline, async () => {
      try {
        const banner = await readBanner(tunnel.host, tunnel.port, SSH_BANNER.length, Math.min(READ_TIMEOUT_MS, Math.max(1, deadline - Date.now())));
        if (banner.startsWith(SSH_BANNER)) return done(undefined);
        lastError = new Error(`the first bytes were ${JSON.stringify(banner)}, not an SSH banner`);
      } catch (error) {
        lastError = error;
      }
      return notYet((lastError as Error).message);
    }, PROBE_SCHEDULE, { timeout: (reason) => new SshConnectError(`${what}: ${reason}`, { cause: lastError }) });
  } finally {
    await tunnel.close();
  }
}
