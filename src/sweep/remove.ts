// Removing one swept preview through the same provider code `pulumi destroy` runs: its routes
// (ProxyRoute's deleteRoute, under the proxy host's lock, checked by `nginx -t`), its DNS record
// sets (DnsRecord's deleteRecord, our values only), then the container (LaunchpadContainer's
// deleteContainer, which acts only while the container still carries the identity tag).
//
// An orphan has no state saying which routes and records are its own, so they are found by facts
// that only it holds: routes whose upstream is its address, and `<hostname>.<zone>` record sets,
// the latter only when no container that stays has the same hostname (a replacement's survivor).

import { isIP } from "node:net";
import { addressesOf, deleteContainer } from "../../provider/container/apply";
import { clusterResources, lxcPath } from "../../provider/container/cluster";
import { parseNet0 } from "../../provider/container/render";
import type { ContainerInputs, ContainerOutputs } from "../../provider/container/schema";
import { backendFor, deleteRecord } from "../../provider/dns/apply";
import { DnsServer, type DnsRecordInputs } from "../../provider/dns/schema";
import type { ProxmoxClient } from "../../provider/proxmox";
import type { LxcInterface } from "../../provider/proxmox/types";
import { deleteRoute, sshTargetOf } from "../../provider/proxy/apply";
import { hostLayout } from "../../provider/proxy/render";
import { ProxyHostSchema, type ProxyHost, type ProxyRouteOutputs } from "../../provider/proxy/schema";
import { shellQuote, shScript, withSshSession } from "../../provider/ssh";
import type { Verdict } from "./plan";

/** Where a preview's routes and records live; each is optional (without it, that part is left alone and said so). */
export interface SweepTargets {
  proxy?: ProxyHost;
  dns?: { zone: string; server: DnsServer };
}

/** Parses the `--config` JSON (`{"proxy": {...ProxyRoute proxy}, "dns": {"zone", "server"}}`), secrets from the environment. */
export function parseTargets(raw: unknown, env: NodeJS.ProcessEnv = process.env): SweepTargets {
  const config = (raw ?? {}) as { proxy?: Record<string, unknown>; dns?: { zone?: unknown; server?: Record<string, unknown> } };
  const targets: SweepTargets = {};
  if (config.proxy) {
    // Fields of the preview's proxy that a route does not take are dropped: the same JSON as preview:proxy works.
    const { publicAddress: _p, tls: _t, portRange: _r, ...proxy } = config.proxy;
    const privateKey = proxy.privateKey ?? env.LAUNCHPAD_PROXY_PRIVATE_KEY;
    const parsed = ProxyHostSchema.safeParse({ ...proxy, ...(privateKey ? { privateKey } : {}) });
    if (!parsed.success) throw new Error(`--config proxy: ${parsed.error.issues.map((i) => `${i.path.join(".") || "proxy"}: ${i.message}`).join("; ")}`);
    targets.proxy = parsed.data;
  }
  if (config.dns) {
    if (typeof config.dns.zone !== "string" || config.dns.zone === "") throw new Error("--config dns.zone: must be the zone the previews' records live in");
    const server = { ...config.dns.server };
    const secret = env.LAUNCHPAD_DNS_SECRET;
    if (secret && server.kind === "powerdns" && server.apiKey === undefined) server.apiKey = secret;
    if (secret && server.kind === "rfc2136" && server.tsig && typeof server.tsig === "object") server.tsig = { secret, ...(server.tsig as object) };
    const parsed = DnsServer.safeParse(server);
    if (!parsed.success) throw new Error(`--config dns.server: ${parsed.error.issues.map((i) => `${i.path.join(".") || "server"}: ${i.message}`).join("; ")}`);
    targets.dns = { zone: config.dns.zone.replace(/\.$/, ""), server: parsed.data };
  }
  return targets;
}

export interface Removal {
  vmid: number;
  routes: string[];
  records: string[];
  /** Parts not looked at, and why (no proxy in --config, no address known, ...). */
  notes: string[];
}

/** A route file's upstream host: `proxy_pass [scheme://]HOST:PORT;` (IPv6 in brackets). */
export function upstreamOf(routeFile: string): string | undefined {
  const match = /^\s*proxy_pass\s+(?:https?:\/\/)?(\[[^\]]+\]|[^:;\s]+):\d+\s*;/m.exec(routeFile);
  return match?.[1].replace(/^\[|\]$/g, "");
}

/** Every route file on the proxy host, by path (the shared include is the host's, not a route). */
async function routeFiles(proxy: ProxyHost): Promise<Map<string, string>> {
  const layout = hostLayout(proxy);
  const dirs = [layout.httpDir, layout.streamDir].map(shellQuote).join(" ");
  // NUL-separated path and content: file names and contents can hold anything but NUL.
  const script = `for d in ${dirs}; do for f in "$d"/*.conf; do [ -f "$f" ] || continue; printf '%s\\0' "$f"; cat -- "$f"; printf '\\0'; done; done; true`;
  const { stdout } = await withSshSession(sshTargetOf(proxy), (session) => session.exec(shScript(script)));
  const parts = stdout.split("\0");
  const files = new Map<string, string>();
  for (let i = 0; i + 1 < parts.length; i += 2) {
    if (parts[i] !== layout.sharedHttpInclude) files.set(parts[i], parts[i + 1]);
  }
  return files;
}

/** The container's hostname and addresses, read before it goes: from its config, and from its interfaces while it runs. */
async function identityOf(client: ProxmoxClient, node: string, vmid: number, status?: string): Promise<{ hostname?: string; addresses: string[] }> {
  const config = await client.get<Record<string, string | undefined>>(`${lxcPath(node, vmid)}/config`);
  const addresses = new Set<string>();
  if (config.net0) {
    const { network } = parseNet0(config.net0);
    for (const stat of [network.ipv4, network.ipv6]) if (stat && typeof stat === "object") addresses.add(stat.address.split("/")[0]);
  }
  if (status === "running") {
    const found = addressesOf(await client.get<LxcInterface[]>(`${lxcPath(node, vmid)}/interfaces`));
    for (const address of [found.ipv4, found.ipv6]) if (address) addresses.add(address);
  }
  return { hostname: config.hostname, addresses: [...addresses].filter((a) => isIP(a) !== 0) };
}

/** Removes one judged container with its routes and records. `keptHostnames`: hostnames of containers that stay. */
export async function removePreview(client: ProxmoxClient, verdict: Verdict, targets: SweepTargets, keptHostnames: ReadonlySet<string>): Promise<Removal> {
  const { node, vmid, status } = verdict.container;
  const removal: Removal = { vmid, routes: [], records: [], notes: [] };
  const { hostname, addresses } = await identityOf(client, node, vmid, status);

  if (!targets.proxy) removal.notes.push("routes not looked at (no proxy in --config)");
  else if (addresses.length === 0) removal.notes.push("routes not looked at (the container has no known address)");
  else {
    for (const [configPath, text] of await routeFiles(targets.proxy)) {
      const upstream = upstreamOf(text);
      if (upstream === undefined || !addresses.includes(upstream)) continue;
      await deleteRoute({ proxy: targets.proxy, configPath } as ProxyRouteOutputs);
      removal.routes.push(configPath);
    }
  }

  if (!targets.dns) removal.notes.push("records not looked at (no dns in --config)");
  else if (!hostname) removal.notes.push("records not looked at (no hostname)");
  else if (keptHostnames.has(hostname)) removal.notes.push(`records of ${hostname} kept: a container that stays has that hostname`);
  else {
    const { zone, server } = targets.dns;
    const fqdn = `${hostname}.${zone}`;
    for (const type of ["A", "AAAA", "CNAME"] as const) {
      const served = await backendFor(server).lookup({ zone, fqdn, type });
      if (!served) continue;
      const owned: DnsRecordInputs = { zone, name: hostname, type, values: served.values, ttl: served.ttl, overwrite: false, server };
      await deleteRecord(owned);
      removal.records.push(`${fqdn} ${type}`);
    }
  }

  const olds = { vmid, node, identityTag: verdict.labels.identity } as unknown as ContainerOutputs;
  // deleteContainer reads only the connection (none: the sweep's own) and the delete timeout from the inputs.
  await deleteContainer(String(vmid), olds, { timeouts: { create: 600, start: 120, ip: 120, delete: 300 } } as ContainerInputs);
  // deleteContainer leaves a container whose tag no longer matches: say so rather than claim it gone.
  const still = (await clusterResources(client, "vm")).some((r) => r.type === "lxc" && Number(r.vmid) === vmid);
  if (still) removal.notes.push("the container was kept by the provider (its identity tag changed meanwhile)");
  return removal;
}
