import { ChildProcess, spawn } from "child_process";
import * as fs from "fs";
import * as net from "net";

/** A free TCP port on loopback, found by binding port 0 and letting it go. */
export async function freePort(host = "127.0.0.1"): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.unref();
    server.on("error", reject);
    server.listen(0, host, () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

/** Waits until something accepts TCP connections on host:port. */
export async function waitForPort(port: number, host = "127.0.0.1", timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const open = await new Promise<boolean>((resolve) => {
      const socket = net.connect({ port, host });
      socket.once("connect", () => { socket.destroy(); resolve(true); });
      socket.once("error", () => resolve(false));
    });
    if (open) return;
    if (Date.now() > deadline) throw new Error(`nothing listens on ${host}:${port} after ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

export interface ServerProcess {
  /** What the process printed so far (stdout and stderr). */
  output(): string;
  /** SIGTERM, wait for the exit, remove its directory; safe to call twice. */
  stop(): Promise<void>;
}

/**
 * Starts a dev-stack server and waits until `port` accepts connections. If the process exits first, or
 * the port stays closed, it is stopped, its directory removed, and the error carries what it printed
 * (and `why()`, e.g. its error log).
 */
export async function startServer(
  command: string, args: string[],
  options: { name: string; port: number; dir: string; env?: NodeJS.ProcessEnv; timeoutMs?: number; why?: () => string },
): Promise<ServerProcess> {
  let child: ChildProcess | undefined = spawn(command, args, { env: options.env ?? process.env, stdio: ["ignore", "pipe", "pipe"] });
  let printed = "";
  child.stdout!.on("data", (chunk) => { printed += chunk; });
  child.stderr!.on("data", (chunk) => { printed += chunk; });
  const exited = new Promise<void>((resolve) => child!.once("exit", () => resolve()));
  const server: ServerProcess = {
    output: () => printed,
    async stop() {
      if (child && child.exitCode === null && child.signalCode === null) {
        child.kill("SIGTERM");
        await exited;
      }
      child = undefined;
      fs.rmSync(options.dir, { recursive: true, force: true });
    },
  };
  try {
    await Promise.race([
      waitForPort(options.port, "127.0.0.1", options.timeoutMs),
      exited.then(() => { throw new Error(`${options.name} exited: ${printed}${options.why?.() ?? ""}`); }),
    ]);
  } catch (error) {
    await server.stop();
    throw error;
  }
  return server;
}
