// Helpers for tests on the real LXC backend: the availability gate, SSH into a container, HTTP to it.
import * as http from "http";
import { generateDeployKey } from "../../provider/deploy/keyPair";
import { sshRun, type SshResult } from "../../devstack/ssh";
import { lxcAvailability } from "../../sandbox/lxc";

/** For a `before` hook: skips locally when LXC cannot run here, FAILS under CI=true (CI runs as root with lxc). */
export function requireLxc(context: Mocha.Context): void {
  const availability = lxcAvailability();
  if (availability.ok) return;
  const message = `LXC backend unavailable: ${availability.reason}`;
  if (process.env.CI === "true") throw new Error(message);
  console.warn(`      skipped: ${message}`);
  context.skip();
}

export interface TestKeyPair {
  privateKey: string;
  publicKey: string;
}

export function generateTestKey(): TestKeyPair {
  return generateDeployKey("lxc-backend-test");
}

/** Runs one command as root on a container's port 22; host keys are per container and generated at create, so they are not pinned here. */
export function sshExec(host: string, privateKey: string, command: string, timeoutMs = 15_000): Promise<SshResult> {
  return sshRun({ host, privateKey, command, timeoutMs });
}

/** Retries the SSH connection until sshd answers (it starts a moment after the container). */
export async function waitForSsh(host: string, privateKey: string, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  while (Date.now() < deadline) {
    try {
      const result = await sshExec(host, privateKey, "true", 5_000);
      if (result.code === 0) return;
      last = new Error(`exit ${result.code}: ${result.stderr}`);
    } catch (error) {
      last = error;
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`sshd on ${host} did not answer within ${timeoutMs} ms: ${(last as Error)?.message}`);
}

/** GET http://host:port/path, retried until something listens (the server starts in the background). */
export async function httpGet(host: string, port: number, path = "/", timeoutMs = 15_000): Promise<{ status: number; body: string }> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      return await new Promise((resolve, reject) => {
        const request = http.get({ host, port, path, timeout: 3_000 }, (response) => {
          let body = "";
          response.setEncoding("utf8").on("data", (chunk: string) => (body += chunk));
          response.on("end", () => resolve({ status: response.statusCode ?? 0, body }));
        });
        request.on("timeout", () => request.destroy(new Error("timeout")));
        request.on("error", reject);
      });
    } catch (error) {
      if (Date.now() > deadline) throw error;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }
}

/** The host-side address part of an `A.B.C.D/N`. */
export function addressOf(cidr: string | undefined): string {
  if (!cidr) throw new Error("no IPv4 address");
  return cidr.split("/")[0];
}
