// What every e2e test of a whole program (and the image-replace bench) needs: the Proxmox sandbox
// (memory or LXC), a real nginx proxy host over real OpenSSH, a real PowerDNS, and an engine
// configured the way a user would. Started on loopback per test file or bench run, stopped after, even on failure.
import * as assert from "assert";
import * as crypto from "crypto";
import * as fs from "fs";
import * as https from "https";
import * as path from "path";
import { systemImage } from "./images";
import { Registry, startRegistry } from "./registry";
import { ProxmoxClient } from "../provider/proxmox";
import { startSandbox, type Sandbox, type SandboxOptions } from "../sandbox";
import { deriveRole, OWNER_ROLE, PROVIDER_CALLS } from "../sandbox/leastPrivilege";
import { requireBinary } from "./binaries";
import { TestEngine, type TestEngineOptions } from "./engine";
import { startNginx, type TestNginx } from "./nginx";
import { PowerDnsServer } from "./pdns";
import { startSshd, type TestSshd } from "./sshd";
import { proxyHost } from "./proxy-host";


export const DOMAIN = "preview.test";
export const TASKS = { vzcreate: 40, vzstart: 20, vzshutdown: 20, vzstop: 10, vzdestroy: 20, ociregistrypull: 60, vzclone: 40, vzreboot: 30 };

export interface World {
  sandbox: Sandbox;
  client: ProxmoxClient;
  nginx: TestNginx;
  /** The proxy host's sshd. */
  proxySshd: TestSshd;
  pdns: PowerDnsServer;
  /** Public ports of stream routes are allocated from here (below the ephemeral range). */
  portRange: { from: number; to: number };
  engines: TestEngine[];
  /** LXC only: the local registry the nodes pull from. */
  registry?: Registry;
  /**
   * Two revisions of one image (`one`, `two`: the system image under two tags): real references in the
   * registry on LXC, names only on memory (where images are metadata).
   */
  images: { one: string; two: string };
}

export async function startWorld(context: Mocha.Context, backend: "memory" | "lxc", sandboxOptions: Pick<SandboxOptions, "ociImages"> = {}): Promise<World> {
  const world: Partial<World> = { engines: [] };
  try {
    world.nginx = await startNginx(context);
    world.proxySshd = await startSshd(context);
    world.pdns = await PowerDnsServer.start(requireBinary(context, "pdns_server", "pdns-server"));
    await world.pdns.createZone(DOMAIN);
    world.images = { one: "ghcr.io/acme/shop:1", two: "ghcr.io/acme/shop:2" };
    if (backend === "lxc") {
      // A real node pulls real images: the system image (init, sshd, node) from a TLS registry it trusts.
      const image = await systemImage();
      world.registry = await startRegistry({ auth: { username: "e2e", password: crypto.randomBytes(12).toString("base64url") } });
      world.images = { one: await world.registry.push(image, "1"), two: await world.registry.push(image, "2") };
    }
    const trust = world.registry ? { certDir: world.registry.certDir, authFile: world.registry.authFile } : undefined;
    world.sandbox = await startSandbox({ ...sandboxOptions, backend, taskDurationsMs: TASKS, registryTrust: trust });
    assert.strictEqual(world.sandbox.backendKind, backend, `the sandbox runs on the ${backend} backend`);
    world.client = new ProxmoxClient({ endpoint: world.sandbox.endpoint, apiToken: world.sandbox.apiToken, fingerprint: world.sandbox.fingerprint });
    // The owner the programs hand their containers to; PVE refuses an ACL for a user that does not exist.
    await world.client.post("/access/users", { userid: "alice@pve" });
    const base = 12_000 + 100 * crypto.randomInt(0, 70);
    world.portRange = { from: base, to: base + 99 };
    return world as World;
  } catch (error) {
    await closeWorld(world);
    throw error;
  }
}

/**
 * Stops everything, then fails if the program sent Proxmox a request the official schema rejects
 * (bad input must fail in `check`, before any network call).
 */
export async function stopWorld(world: Partial<World> | undefined): Promise<void> {
  const violations = [...(world?.sandbox?.schemaViolations ?? [])];
  await closeWorld(world);
  assert.deepStrictEqual(violations, [], "a request the official Proxmox schema rejects was sent");
}

async function closeWorld(world: Partial<World> | undefined): Promise<void> {
  if (!world) return;
  for (const engine of world.engines ?? []) await engine.close().catch(() => undefined);
  await world.client?.close().catch(() => undefined);
  await world.sandbox?.close().catch(() => undefined);
  await world.registry?.stop().catch(() => undefined);
  await world.pdns?.stop().catch(() => undefined);
  await world.proxySshd?.stop().catch(() => undefined);
  await world.nginx?.stop().catch(() => undefined);
}

/** The `preview:proxy` JSON for this world's nginx over its sshd (the private key goes separately, as a secret). */
export function proxyConfig(world: World): Record<string, unknown> {
  const { nginx, proxySshd } = world;
  return {
    ...proxyHost(proxySshd, nginx), publicAddress: "127.0.0.1",
    tls: { certificate: nginx.certificate, key: nginx.key }, portRange: world.portRange,
  };
}

/** The README's least-privilege role: what the provider needs, derived from the schema (sandbox/leastPrivilege.ts). */
export async function leastPrivilegeRole(world: World): Promise<string[]> {
  const owner = await world.client.get<Record<string, number>>(`/access/roles/${OWNER_ROLE}`);
  return deriveRole(PROVIDER_CALLS, Object.keys(owner));
}

/**
 * A CI user with a privilege-separated token holding only `privileges`, set up through PVE's
 * access API as the README's pveum commands do: role, user, token, ACLs on / for both.
 * Returns the token as it goes after `PVEAPIToken=`.
 */
export async function ciToken(world: World, name: string, privileges: readonly string[]): Promise<string> {
  const role = `Launchpad${name}`;
  const user = `${name.toLowerCase()}@pve`;
  await world.client.post("/access/roles", { roleid: role, privs: privileges.join(",") });
  await world.client.post("/access/users", { userid: user, comment: "pulumi-launchpad CI" });
  const token = await world.client.post<{ "full-tokenid": string; value: string }>(`/access/users/${encodeURIComponent(user)}/token/launchpad`, { privsep: 1 });
  await world.client.put("/access/acl", { path: "/", roles: role, users: user });
  await world.client.put("/access/acl", { path: "/", roles: role, tokens: token["full-tokenid"] });
  return `${token["full-tokenid"]}=${token.value}`;
}

/** An engine with the Proxmox credentials as a user sets them (`launchpad:*`, the token secret); `apiToken` defaults to the sandbox's all-powerful one. */
export function newEngine(world: World, options: TestEngineOptions & { apiToken?: string }): TestEngine {
  const { apiToken, ...rest } = options;
  const engine = new TestEngine({
    ...rest,
    config: { "launchpad:endpoint": world.sandbox.endpoint, "launchpad:fingerprint": world.sandbox.fingerprint, ...(options.config ?? {}) },
    secretConfig: { "launchpad:apiToken": apiToken ?? world.sandbox.apiToken, ...(options.secretConfig ?? {}) },
  });
  world.engines.push(engine);
  return engine;
}

/** Route files on the proxy host, by kind (`_launchpad-shared.conf`, shared by all HTTP routes, is the host's, not a route). */
export function routeFiles(world: World): { http: string[]; stream: string[] } {
  const list = (kind: string) => fs.readdirSync(path.join(world.nginx.confDir, kind)).filter((f) => f.endsWith(".conf") && !f.startsWith("_")).sort();
  return { http: list("http"), stream: list("stream") };
}

export function routeFile(world: World, kind: "http" | "stream", name: string): string {
  return fs.readFileSync(path.join(world.nginx.confDir, kind, name), "utf8");
}

/** The A records PowerDNS serves for a name. */
export async function served(world: World, fqdn: string): Promise<string[]> {
  return (await world.pdns.query(fqdn, "A")).answers.map((a) => String((a as { data: unknown }).data)).sort();
}

export async function aclEntries(world: World): Promise<Array<{ path: string; roleid: string; ugid: string }>> {
  return world.client.get("/access/acl");
}

export const ops = (result: { operations: Array<{ name: string; op: string }> }): Record<string, string> =>
  Object.fromEntries(result.operations.map((o) => [o.name, o.op]));

/** GET through the proxy's HTTPS port with the preview's name (SNI and Host), trusting the test certificate. */
export function getThroughProxy(world: World, hostname: string, urlPath: string, options: { newConnection?: boolean } = {}): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const request = https.request({
      ...(options.newConnection ? { agent: false } : {}),
      host: "127.0.0.1", port: world.nginx.httpsPort, path: urlPath, method: "GET", servername: hostname,
      headers: { Host: hostname }, ca: fs.readFileSync(world.nginx.certificate), timeout: 10_000,
    }, (response) => {
      let body = "";
      response.setEncoding("utf8").on("data", (chunk: string) => (body += chunk));
      response.on("end", () => resolve({ status: response.statusCode ?? 0, body }));
    });
    request.on("timeout", () => request.destroy(new Error(`GET https://${hostname}${urlPath}: timed out`)));
    request.on("error", reject);
    request.end();
  });
}
