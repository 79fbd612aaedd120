// Proxmox property strings for a container, rendered from normalized inputs, and parsed back for
// drift detection. Pure: no I/O. Formats from the PVE API schema (`net[n]`, `rootfs`, `features`,
// `env`, `tags`, `nameserver`, `searchdomain`, `ssh-public-keys`).

import { isDeepStrictEqual } from "node:util";
import type { ContainerInputs, NetworkInputs } from "./schema";

export type PveParams = Record<string, string | number>;

/** `key=value,key=value` -> map (a leading bare value is the format's default key, e.g. rootfs volume). */
export function parsePropertyString(text: string, defaultKey = "volume"): Record<string, string> {
  const out: Record<string, string> = {};
  for (const part of text.split(",")) {
    if (!part) continue;
    const eq = part.indexOf("=");
    if (eq === -1) out[defaultKey] = part;
    else out[part.slice(0, eq)] = part.slice(eq + 1);
  }
  return out;
}

/**
 * The keys of each property string the provider writes that the inputs describe. Every other key
 * (`host-managed`, `type`, `rate`, `link_down`, `mount`, ...) is Proxmox's or an admin's, and an
 * update keeps it: pve-container's config PUT (src/PVE/API2/LXC/Config.pm -> update_pct_config in
 * src/PVE/LXC/Config.pm) stores the given string whole, so a key left out is a key removed.
 * `rootfs` and `mpN` are never written after create (growth goes through `PUT /resize`).
 */
export const OWNED_KEYS = {
  net0: ["name", "bridge", "ip", "gw", "ip6", "gw6", "tag", "firewall", "mtu"],
  features: ["nesting", "keyctl", "fuse"],
} as const satisfies Record<string, readonly string[]>;

export const PROPERTY_STRING_KEYS = Object.keys(OWNED_KEYS) as (keyof typeof OWNED_KEYS)[];

const DEFAULT_KEYS: Record<keyof typeof OWNED_KEYS, string> = { net0: "name", features: "unused" };

/** Ordered `[key, value]` pairs of a property string (a bare leading value under `defaultKey`). */
function propertyEntries(text: string | undefined, defaultKey: string): Array<[string, string]> {
  return Object.entries(parsePropertyString(text ?? "", defaultKey));
}

/**
 * `rendered` laid over `current`: the keys the inputs own come from `rendered` (absent there means
 * unset), every other key of `current` stays (and wins over `rendered`). When that holds the same keys and values as `current`,
 * `current` comes back verbatim, so an unchanged value never reads as a change.
 */
export function overlayPropertyString(key: keyof typeof OWNED_KEYS, current: string | undefined, rendered: string | undefined): string | undefined {
  const owned: readonly string[] = OWNED_KEYS[key];
  const kept = propertyEntries(current, DEFAULT_KEYS[key]).filter(([k]) => !owned.includes(k));
  const keptKeys = new Set(kept.map(([k]) => k));
  // A rendered key the inputs do not own (the MAC kept from state) only fills a gap: Proxmox's value wins.
  const ours = propertyEntries(rendered, DEFAULT_KEYS[key]).filter(([k]) => owned.includes(k) || !keptKeys.has(k));
  const merged = [...ours, ...kept];
  if (merged.length === 0) return undefined;
  const before = parsePropertyString(current ?? "", DEFAULT_KEYS[key]);
  if (isDeepStrictEqual(Object.fromEntries(merged), before)) return current;
  return merged.map(([k, v]) => `${k}=${v}`).join(",");
}

/** `net0`; `hwaddr` is kept on updates, or Proxmox would give the container a new MAC (and a new DHCP lease). */
export function renderNet0(network: NetworkInputs, hwaddr?: string): string {
  const parts = ["name=eth0", `bridge=${network.bridge}`];
  if (hwaddr) parts.push(`hwaddr=${hwaddr}`);
  if (network.ipv4 === "dhcp") parts.push("ip=dhcp");
  else {
    parts.push(`ip=${network.ipv4.address}`);
    if (network.ipv4.gateway) parts.push(`gw=${network.ipv4.gateway}`);
  }
  if (network.ipv6 === "dhcp" || network.ipv6 === "auto") parts.push(`ip6=${network.ipv6}`);
  else if (network.ipv6) {
    parts.push(`ip6=${network.ipv6.address}`);
    if (network.ipv6.gateway) parts.push(`gw6=${network.ipv6.gateway}`);
  }
  if (network.vlan !== undefined) parts.push(`tag=${network.vlan}`);
  if (network.firewall) parts.push("firewall=1");
  if (network.mtu !== undefined) parts.push(`mtu=${network.mtu}`);
  return parts.join(",");
}

/** The parts of `net0` the inputs describe, for drift detection (hwaddr and `type` are Proxmox's). */
export function parseNet0(text: string): { network: NetworkInputs; hwaddr?: string } {
  const p = parsePropertyString(text, "name");
  const ipv4: NetworkInputs["ipv4"] = !p.ip || p.ip === "dhcp" ? "dhcp" : p.gw ? { address: p.ip, gateway: p.gw } : { address: p.ip };
  const ipv6: NetworkInputs["ipv6"] = p.ip6 === undefined ? undefined
    : p.ip6 === "dhcp" || p.ip6 === "auto" ? p.ip6
    : p.gw6 ? { address: p.ip6, gateway: p.gw6 } : { address: p.ip6 };
  const network: NetworkInputs = { bridge: p.bridge ?? "vmbr0", ipv4, firewall: p.firewall === "1" };
  if (ipv6 !== undefined) network.ipv6 = ipv6;
  if (p.tag !== undefined) network.vlan = Number(p.tag);
  if (p.mtu !== undefined) network.mtu = Number(p.mtu);
  return { network, hwaddr: p.hwaddr };
}

/** `rootfs` at create time: `<storage>:<GiB>` asks Proxmox to allocate a new volume of that size. */
export function renderRootfs(storage: string, diskSizeGiB: number): string {
  return `${storage}:${diskSizeGiB}`;
}

/** Size in GiB from a `rootfs` string's `size=` (`8G`, `512M`, `1T`). */
export function parseDiskSizeGiB(rootfs: string): number | undefined {
  const size = parsePropertyString(rootfs).size;
  const match = size && /^(\d+(?:\.\d+)?)([KMGT]?)$/.exec(size);
  if (!match) return undefined;
  const factor = { "": 1 / 1024 ** 3, K: 1 / 1024 ** 2, M: 1 / 1024, G: 1, T: 1024 }[match[2] as "" | "K" | "M" | "G" | "T"];
  return Number(match[1]) * factor;
}

/** Only the flags that are on: setting any flag but `nesting` (even to 0) needs root@pam. */
export function renderFeatures(features: ContainerInputs["features"]): string | undefined {
  const on = (["fuse", "keyctl", "nesting"] as const).filter((flag) => features[flag]);
  return on.length ? on.map((flag) => `${flag}=1`).join(",") : undefined;
}

export function parseFeatures(text: string | undefined): ContainerInputs["features"] {
  const p = parsePropertyString(text ?? "", "unused");
  return { nesting: p.nesting === "1", keyctl: p.keyctl === "1", fuse: p.fuse === "1" };
}

/** `env`: NUL-separated `KEY=value`, sorted so that equal maps render equally. */
export function renderEnv(env: Record<string, string>): string | undefined {
  const keys = Object.keys(env).sort();
  return keys.length ? keys.map((k) => `${k}=${env[k]}`).join("\0") : undefined;
}

export function parseEnv(text: string | undefined): Record<string, string> {
  const env: Record<string, string> = {};
  for (const pair of (text ?? "").split("\0")) {
    const eq = pair.indexOf("=");
    if (eq > 0) env[pair.slice(0, eq)] = pair.slice(eq + 1);
  }
  return env;
}

/** `tags`: `;`-separated, lower-cased and sorted as Proxmox stores them; the identity tag included. */
export function renderTags(tags: readonly string[], identityTag?: string): string {
  return [...new Set([...tags, ...(identityTag ? [identityTag] : [])].map((t) => t.toLowerCase()))].sort().join(";");
}

export function parseTags(text: string | undefined): string[] {
  return (text ?? "").split(/[;, ]+/).filter(Boolean).map((t) => t.toLowerCase());
}

/**
 * The container settings that `PUT /config` can change, as Proxmox property strings. Keys absent
 * here are unset. Used both for create (together with `renderCreateParams`) and to compute the
 * one PUT an update needs (`configChanges`).
 */
export function renderConfig(inputs: ContainerInputs, extra: { hwaddr?: string; identityTag?: string }): PveParams {
  const config: PveParams = {
    hostname: inputs.hostname,
    cores: inputs.cores,
    memory: inputs.memory,
    swap: inputs.swap,
    net0: renderNet0(inputs.network, extra.hwaddr),
    onboot: inputs.onBoot ? 1 : 0,
    tags: renderTags(inputs.tags, extra.identityTag),
  };
  const optional: Record<string, string | undefined> = {
    nameserver: inputs.nameserver?.join(" "),
    searchdomain: inputs.searchdomain?.join(" "),
    features: renderFeatures(inputs.features),
    env: renderEnv(inputs.env),
    entrypoint: inputs.entrypoint,
    description: inputs.description,
  };
  for (const [key, value] of Object.entries(optional)) if (value !== undefined && value !== "") config[key] = value;
  return config;
}

/** The fewest keys to send in one `PUT /config`: changed values in `set`, removed keys in `delete`. */
export function configChanges(before: PveParams, after: PveParams, keep: readonly string[] = []): { set: PveParams; delete: string[] } {
  const set: PveParams = {};
  const removed: string[] = [];
  for (const [key, value] of Object.entries(after)) if (String(before[key]) !== String(value)) set[key] = value;
  for (const key of Object.keys(before)) if (!(key in after) && !keep.includes(key)) removed.push(key);
  return { set, delete: removed.sort() };
}

/** Parameters for `POST /nodes/{node}/lxc` (template or pulled image). */
export function renderCreateParams(
  inputs: ContainerInputs,
  placement: { vmid: number; ostemplate: string; storage: string; identityTag: string; fromImage: boolean; start?: boolean },
): PveParams {
  const config = renderConfig(inputs, { identityTag: placement.identityTag });
  // From an OCI image Proxmox fills env/entrypoint from the image; ours are merged in afterwards.
  if (placement.fromImage) {
    delete config.env;
    delete config.entrypoint;
  }
  const params: PveParams = {
    ...config,
    vmid: placement.vmid,
    ostemplate: placement.ostemplate,
    rootfs: renderRootfs(placement.storage, inputs.diskSize),
    unprivileged: inputs.unprivileged ? 1 : 0,
    start: placement.start ? 1 : 0,
  };
  if (inputs.sshPublicKeys.length) params["ssh-public-keys"] = inputs.sshPublicKeys.join("\n");
  if (inputs.password !== undefined) params.password = inputs.password;
  if (inputs.pool !== undefined) params.pool = inputs.pool;
  return params;
}

/** OCI pull file name, one per reference: `<registry>_<namespace>_<image>_<tag>.tar`. */
export function ociFileStem(reference: string): string {
  const lastSlash = reference.lastIndexOf("/");
  const colon = reference.indexOf(":", lastSlash + 1);
  const path = colon === -1 ? reference : reference.slice(0, colon);
  const tag = colon === -1 ? "latest" : reference.slice(colon + 1);
  const segments = path.split("/");
  const hasRegistry = segments.length > 1 && /[.:]|^localhost$/.test(segments[0]);
  const registry = hasRegistry ? segments.shift()! : "docker.io";
  if (registry === "docker.io" && segments.length === 1) segments.unshift("library");
  return [registry, ...segments, tag].join("_").replace(/[^A-Za-z0-9_.-]/g, "_");
}
