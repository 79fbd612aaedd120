// How the client trusts the Proxmox server: the system CAs (default), a pinned CA PEM, a pinned
// SHA-256 certificate fingerprint, or nothing at all when `insecure` is asked for. Done per connection
// with undici Agents, never with NODE_TLS_REJECT_UNAUTHORIZED (which would weaken the whole process).

import type { Socket } from "node:net";
import type { TLSSocket } from "node:tls";
import { Agent, buildConnector } from "undici";
import type { ProxmoxConnection } from "./connection";
import { TLS_VERIFICATION_CODES } from "../retry";

/** Error code of a fingerprint pin mismatch, raised before any byte of the request is written. */
export const PIN_MISMATCH = "ERR_LAUNCHPAD_TLS_PIN_MISMATCH";

export class PinMismatchError extends Error {
  readonly code = PIN_MISMATCH;
  constructor(
    readonly expected: string,
    readonly got: string,
    host: string,
  ) {
    super(`certificate of ${host} does not match the pinned SHA-256 fingerprint: expected ${expected}, got ${got}`);
  }
}

const DEFAULT_CONNECT_TIMEOUT_MS = 10_000;

function connectOptions(connection: ProxmoxConnection, timeoutMs: number): buildConnector.BuildOptions {
  const timeout = Math.min(timeoutMs, DEFAULT_CONNECT_TIMEOUT_MS);
  if (connection.caCert) return { ca: connection.caCert, timeout };
  if (connection.insecure || connection.fingerprint) {
    // Fingerprint: the chain check is off for this pinned connection only, the pin replaces it below.
    // No session resumption, so every connection presents (and is checked against) a certificate.
    return { rejectUnauthorized: false, timeout, maxCachedSessions: 0 };
  }
  return { timeout };
}

/** A connector that completes only when the peer's certificate has the pinned SHA-256 fingerprint. */
function pinnedConnector(options: buildConnector.BuildOptions, fingerprint: string): buildConnector.connector {
  const connect = buildConnector(options);
  return (target, callback) =>
    connect(target, (error, socket) => {
      if (error) return callback(error, null);
      const got = (socket as TLSSocket).getPeerCertificate?.()?.fingerprint256 ?? "(no certificate)";
      if (got.toUpperCase() !== fingerprint) {
        socket!.destroy();
        return callback(new PinMismatchError(fingerprint, got, `${target.hostname}:${target.port}`), null);
      }
      callback(null, socket!);
    });
}

/**
 * pveproxy drops a connection that sent nothing for 5 s (pve-http-server AnyEvent.pm, `timeout` 5): a
 * connection opened ahead of its request is used well before that, or not at all.
 */
export const PREPARED_MAX_AGE_MS = 2_000;

/** Where undici's Client connects, as it passes it to a connector. */
type ConnectTarget = Parameters<buildConnector.connector>[0];

const targetOf = (origin: string): ConnectTarget => {
  const url = new URL(origin);
  return { host: url.host, hostname: url.hostname.replace(/^\[(.*)\]$/, "$1"), protocol: url.protocol, port: url.port, servername: null, localAddress: null } as unknown as ConnectTarget;
};
const targetKey = (target: ConnectTarget) => `${target.protocol}//${target.hostname}:${target.port || (target.protocol === "https:" ? 443 : 80)}`;

/**
 * A connector that can open one connection ahead of its request (`prepare`), handshake and pin check
 * done, and hands it to the next connect to that origin; a prepared connection that closed, failed or
 * grew old is dropped and a new one made. It never carried a request, so it is as fresh as a new one.
 */
export function preparingConnector(connect: buildConnector.connector, now: () => number = Date.now): { connect: buildConnector.connector; prepare(origin: string): void; drop(): void } {
  let prepared: { key: string; at: number; socket: Promise<Socket | undefined> } | undefined;
  const usable = (socket: Socket | undefined): socket is Socket => socket !== undefined && !socket.destroyed && socket.writable && !socket.readableEnded;
  return {
    connect: (target, callback) => {
      const ready = prepared?.key === targetKey(target) ? prepared : undefined;
      if (!ready) return connect(target, callback);
      prepared = undefined;
      const fresh = now() - ready.at < PREPARED_MAX_AGE_MS;
      void ready.socket.then((socket) => {
        socket?.removeListener("error", dropOnError);
        if (fresh && usable(socket)) return callback(null, socket);
        socket?.destroy();
        connect(target, callback);
      });
    },
    prepare: (origin) => {
      const target = targetOf(origin);
      prepared?.socket.then((socket) => socket?.destroy());
      const entry = {
        key: targetKey(target),
        at: now(),
        socket: new Promise<Socket | undefined>((resolve) => connect(target, (error, socket) => {
          if (error || !socket) return resolve(undefined);
          socket.on("error", dropOnError);
          resolve(socket as Socket);
        })),
      };
      prepared = entry;
      // Not used in time: closed, so no idle connection outlives its purpose.
      setTimeout(() => {
        if (prepared !== entry) return;
        prepared = undefined;
        void entry.socket.then((socket) => socket?.destroy());
      }, PREPARED_MAX_AGE_MS).unref();
    },
    drop: () => {
      void prepared?.socket.then((socket) => socket?.destroy());
      prepared = undefined;
    },
  };
}

/** An idle prepared connection's error only makes it unusable (`usable` sees it destroyed). */
function dropOnError(this: Socket): void {
  this.destroy();
}

export interface Dispatchers {
  /** Keep-alive pool for reads and idempotent writes. */
  pooled: Agent;
  /**
   * One fresh connection per request, for writes that must not be sent twice: a request written on a
   * stale keep-alive socket fails ambiguously, a request on a fresh one fails before sending or not at all.
   */
  fresh: Agent;
  /** Opens `fresh`'s next connection to `origin` now, so the write that follows pays no handshake. */
  prepareFresh(origin: string): void;
  /** Closes a prepared connection not used yet. */
  dropPrepared(): void;
}

export function createDispatchers(connection: ProxmoxConnection, timeoutMs: number): Dispatchers {
  const options = connectOptions(connection, timeoutMs);
  const connect = connection.fingerprint ? pinnedConnector(options, connection.fingerprint) : buildConnector(options);
  const fresh = preparingConnector(connect);
  return {
    pooled: new Agent({ connect, keepAliveTimeout: 4_000, keepAliveMaxTimeout: 30_000 }),
    fresh: new Agent({ connect: fresh.connect, pipelining: 0 }),
    prepareFresh: fresh.prepare,
    dropPrepared: fresh.drop,
  };
}

/** Certificate verification failures: raised during the handshake, so the request was never sent. */
export const TLS_VERIFY_CODES = new Set<string>(TLS_VERIFICATION_CODES);

/** A hint that says how to fix a TLS verification failure. */
export function tlsHint(code: string, connection: ProxmoxConnection): string {
  if (code === PIN_MISMATCH) {
    return "Either this is not the pinned server, or its certificate was renewed: check launchpad:fingerprint / PROXMOX_VE_FINGERPRINT";
  }
  if (code === "ERR_TLS_CERT_ALTNAME_INVALID") {
    return "The certificate does not name this host: connect by a name the certificate holds, or pin its SHA-256 fingerprint (launchpad:fingerprint)";
  }
  if (connection.caCert) return "The server's certificate is not signed by the pinned CA (launchpad:caCert / PROXMOX_VE_CA_CERT)";
  return (
    "Proxmox uses a self-signed certificate by default: pin its CA with launchpad:caCert / PROXMOX_VE_CA_CERT " +
    "(/etc/pve/pve-root-ca.pem), or its SHA-256 fingerprint with launchpad:fingerprint / PROXMOX_VE_FINGERPRINT " +
    "(Datacenter > node > System > Certificates); launchpad:insecure=true turns verification off"
  );
}
