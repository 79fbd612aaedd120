import * as net from "net";

// Named formats of the Proxmox VE schema (pve-common PVE::JSONSchema, pve-container, pve-access-control),
// each a check that returns undefined when the value is fine, or PVE's own error text.

const IPV4_OCTET = "(?:25[0-5]|(?:2[0-4]|1[0-9]|[1-9])?[0-9])";
const IPV4_RE = `(?:${IPV4_OCTET}\\.){3}${IPV4_OCTET}`;
const IPV4 = new RegExp(`^${IPV4_RE}$`);
const NODE_NAME = /^([a-zA-Z0-9]([a-zA-Z0-9-]*[a-zA-Z0-9])?)$/;
const DNS_LABEL = "([a-zA-Z0-9]([a-zA-Z0-9-]*[a-zA-Z0-9])?)";
const DNS_NAME = new RegExp(`^(${DNS_LABEL}\\.)*${DNS_LABEL}$`);
const CONFIGID = /^[a-z][a-z0-9_-]+$/i;
const PVE_ID = /^[a-z][a-z0-9\-_.]*[a-z0-9]$/i;
const TAG = /^[a-z0-9_][a-z0-9_\-+.]*$/i;
const EMAIL_USER = "[\\w+\\-~]+(\\.[\\w+\\-~]+)*";
const EMAIL = new RegExp(`^${EMAIL_USER}@[a-zA-Z0-9-]+(\\.[a-zA-Z0-9-]+)*$`);
const REALM = /^[A-Za-z][A-Za-z0-9.\-_]+$/;
const USERID = /^[^\s:/]+@[A-Za-z][A-Za-z0-9.\-_]+$/;
const STORAGE_CONTENT = new Set(["images", "rootdir", "vztmpl", "iso", "backup", "snippets", "import"]);

/** Node's `net.isIPv6` with PVE's grammar in mind: no zone index, no brackets. */
function isIpv6(value: string): boolean {
  return net.isIPv6(value) && !value.includes("%");
}

function cidr(value: string, v6: boolean): boolean {
  const match = /^(.+)\/(\d+)$/.exec(value);
  if (!match) return false;
  const bits = Number(match[2]);
  return (v6 ? isIpv6(match[1]) : IPV4.test(match[1])) && bits > 7 && bits <= (v6 ? 128 : 32);
}

/** PVE::JSONSchema::parse_size: bytes, or undefined when the text is not a size. */
export function parseSize(value: string): number | undefined {
  const match = /^(\d+(\.\d+)?)([KMGT])?$/.exec(value);
  if (!match) return undefined;
  const unit = { K: 1024, M: 1024 ** 2, G: 1024 ** 3, T: 1024 ** 4 }[match[3] as "K"] ?? 1;
  return Math.floor(Number(match[1]) * unit);
}

/** PVE::Tools::split_list: NUL-separated if there is a NUL, else by `,`, `;` and white space. */
export function splitList(text: string): string[] {
  if (text.includes("\0")) return text.split("\0");
  return text.replace(/[,;]/g, " ").trim().split(/\s+/).filter((item) => item !== "");
}

type FormatCheck = (value: string) => string | undefined;

const when = (ok: boolean, message: string) => (ok ? undefined : message);

export const FORMATS: Record<string, FormatCheck> = {
  string: () => undefined,
  "pve-vmid": (v) => when(/^[1-9][0-9]{2,8}$/.test(v), "value does not look like a valid VM ID"),
  "pve-node": (v) => when(NODE_NAME.test(v), "value does not look like a valid node name"),
  "pve-storage-id": (v) => when(PVE_ID.test(v), `storage ID '${v}' contains illegal characters`),
  "pve-configid": (v) => when(CONFIGID.test(v), `invalid configuration ID '${v}'`),
  "pve-bridge-id": (v) => when(/^[-_.\w\d]+$/.test(v), `invalid bridge ID '${v}'`),
  "mac-addr": (v) =>
    when(/^[a-f0-9][02468ace](?::[a-f0-9]{2}){5}$/i.test(v), "value does not look like a valid unicast MAC address"),
  ipv4: (v) => when(IPV4.test(v), "value does not look like a valid IPv4 address"),
  ipv6: (v) => when(isIpv6(v), "value does not look like a valid IPv6 address"),
  ip: (v) => when(IPV4.test(v) || isIpv6(v), "value does not look like a valid IP address"),
  CIDRv4: (v) => when(cidr(v, false), "value does not look like a valid IPv4 CIDR network"),
  CIDRv6: (v) => when(cidr(v, true), "value does not look like a valid IPv6 CIDR network"),
  CIDR: (v) => when(cidr(v, false) || cidr(v, true), "value does not look like a valid CIDR network"),
  "pve-ipv4-config": (v) =>
    when(/^(?:dhcp|manual)$/.test(v) || cidr(v, false), "value does not look like a valid ipv4 network configuration"),
  "pve-ipv6-config": (v) =>
    when(/^(?:auto|dhcp|manual)$/.test(v) || cidr(v, true), "value does not look like a valid ipv6 network configuration"),
  email: (v) => when(EMAIL.test(v), "value does not look like a valid email address"),
  "dns-name": (v) => when(DNS_NAME.test(v), "value does not look like a valid DNS name"),
  "disk-size": (v) => when(parseSize(v) !== undefined, `value does not look like a valid disk size: ${v}`),
  "pve-tag": (v) => when(TAG.test(v), "invalid characters in tag"),
  "pve-startup-order": (v) =>
    when(
      v !== "" && v.split(",").every((part) => /^\s*$/.test(part) || /^((order=)?\d+|up=\d+|down=\d+)$/.test(part)),
      "unable to parse startup options",
    ),
  "pve-poolid": (v) => when(/^[A-Za-z0-9_\-]+$/.test(v), `invalid pool ID '${v}'`),
  "pve-volume-id": (v) =>
    when(/^(?:[a-z][a-z0-9\-_.]*[a-z0-9]):(.+)$/i.test(v) || v.startsWith("/"), `unable to parse volume ID '${v}'`),
  // pve-container: mount point and volume strings may not climb out with `..`.
  "pve-lxc-mp-string": (v) => when(!/(^|\/)\.\.($|\/)/.test(v), `${v} contains illegal character sequences`),
  "pve-lxc-dev-string": (v) => when(v.startsWith("/dev/") && !/(^|\/)\.\.($|\/)/.test(v), `not a valid device path: ${v}`),
  "lxc-ip-with-ll-iface": (v) => {
    const [address, iface] = v.split("%");
    const ok = IPV4.test(address) || (isIpv6(address) && (iface === undefined || /^[\w.-]+$/.test(iface)));
    return when(ok && (iface === undefined || isIpv6(address)), `unable to parse IP address '${v}'`);
  },
  "pve-ct-timezone": (v) => when(v === "host" || /^[A-Za-z0-9_+\-]+(\/[A-Za-z0-9_+\-]+)*$/.test(v), `invalid time zone '${v}'`),
  "pve-storage-content": (v) => when(STORAGE_CONTENT.has(v), `invalid content type '${v}'`),
  "pve-task-status-type": (v) => when(/^(ok|error|warning|unknown)$/i.test(v), `invalid status '${v}'`),
  "pve-priv": (v) => when(/^[A-Z][A-Za-z.]+$/.test(v), `invalid privilege '${v}'`),
  "pve-realm": (v) => when(REALM.test(v), `realm '${v}' contains illegal characters`),
  "pve-userid": (v) => when(USERID.test(v) && v.length <= 64, `value '${v}' does not look like a valid user name`),
  "pve-groupid": (v) => when(/^[A-Za-z0-9.\-_]+$/.test(v), `invalid group name '${v}'`),
  "pve-roleid": (v) => when(/^[A-Za-z0-9.\-_]+$/.test(v), `invalid role ID '${v}'`),
  "pve-tokenid": (v) => when(/^[^\s:/]+@[A-Za-z][A-Za-z0-9.\-_]+![A-Za-z][A-Za-z0-9.\-_]+$/.test(v), `invalid token ID '${v}'`),
};

/** check_format for a named format: `<name>`, `<name>-list` (split_list, each item), `<name>-opt`. */
export function checkNamedFormat(format: string, value: string): string | undefined {
  const match = /^(.*?)(?:-(list|opt))?$/.exec(format)!;
  const [name, kind] = [match[1], match[2]];
  const check = FORMATS[name];
  // An unknown format is accepted: the sandbox must not reject what Proxmox might take.
  if (!check) return undefined;
  if (kind === "list") {
    for (const item of splitList(value)) {
      const problem = check(item);
      if (problem) return problem;
    }
    return undefined;
  }
  if (kind === "opt") return value ? check(value) : undefined;
  return check(value);
}
