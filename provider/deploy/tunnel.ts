// Reaching a container through a jump host (usually the proxy host, which sits on the containers'
// network while the machine running Pulumi may not). The jump connection is pinned like every
// other; a loopback listener hands each connection to a forwarded channel, so the session layer
// (provider/ssh) talks to the container exactly as it would directly.

import * as net from "net";
import { Client } from "ssh2";
import { SshConnectError, registerSecret } from "../errors";
import { sha256Fingerprint } from "../ssh";
import type { JumpHost } from "./schema";

export interface Tunnel {
  /** Loopback address and port that lead to the target. */
  readonly host: "127.0.0.1";
  readonly port: number;
  close(): Promise<void>;
}

/** Logs in to `jump` and opens a loopback port forwarded to `target`. */
export async function openTunnel(jump: JumpHost, target: { host: string; port: number }, readyTimeoutMs = 20_000): Promise<Tunnel> {
  registerSecret(jump.privateKey);
  registerSecret(jump.passphrase);
  const where = `${jump.user}@${jump.host}:${jump.port}`;
  const agent = jump.privateKey ? undefined : (jump.agent ?? process.env.SSH_AUTH_SOCK);
  if (!jump.privateKey && !agent) throw new SshConnectError(`cannot log in to jump host ${where}: give jump.privateKey, or an SSH agent`);
  const client = new Client();
  let presented: string | undefined;
  await new Promise<void>((resolve, reject) => {
    client.once("ready", () => resolve());
    client.once("error", (error) => {
      if (presented && presented !== jump.hostKeyFingerprint) {
        reject(new SshConnectError(`host key of jump host ${jump.host}:${jump.port} does not match: expected ${jump.hostKeyFingerprint}, got ${presented}`, { cause: error }));
      } else {
        reject(new SshConnectError(`cannot connect to jump host ${where}: ${error.message}`, { cause: error }));
      }
    });
    client.connect({
      host: jump.host,
      port: jump.port,
      username: jump.user,
      privateKey: jump.privateKey,
      passphrase: jump.passphrase,
      agent,
      readyTimeout: readyTimeoutMs,
      hostVerifier: (key: Buffer) => {
        presented = sha256Fingerprint(key);
        return presented === jump.hostKeyFingerprint;
      },
    });
  });
  // The jump connection may drop later; the sessions through it then fail with their own errors.
  client.on("error", () => undefined);
  const sockets = new Set<net.Socket>();
  const server = net.createServer((socket) => {
    sockets.add(socket);
    // A probe that only reads the host key resets its connection: not an error of the deployment.
    socket.on("error", () => socket.destroy());
    socket.once("close", () => sockets.delete(socket));
    client.forwardOut("127.0.0.1", 0, target.host, target.port, (error, channel) => {
      if (error) {
        socket.destroy();
        return;
      }
      socket.pipe(channel).pipe(socket);
      channel.once("close", () => socket.destroy());
      socket.once("close", () => channel.close());
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => resolve());
  });
  const port = (server.address() as net.AddressInfo).port;
  return {
    host: "127.0.0.1",
    port,
    close: async () => {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      client.end();
    },
  };
}
