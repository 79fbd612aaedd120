// IPv4 arithmetic and the backend's DHCP-like lease table. Pure: no host state is read here.

export interface Subnet {
  /** Network address as a 32-bit number. */
  network: number;
  prefix: number;
}

export function parseIpv4(text: string): number | undefined {
  const parts = text.split(".");
  if (parts.length !== 4) return undefined;
  let value = 0;
  for (const part of parts) {
    if (!/^\d{1,3}$/.test(part) || Number(part) > 255) return undefined;
    value = value * 256 + Number(part);
  }
  return value;
}

export function formatIpv4(value: number): string {
  return [24, 16, 8, 0].map((shift) => Math.floor(value / 2 ** shift) % 256).join(".");
}

function mask(prefix: number): number {
  return prefix === 0 ? 0 : (0xffffffff << (32 - prefix)) >>> 0;
}

/** `A.B.C.D/N` to its address and prefix; undefined when malformed. */
export function parseCidr(text: string): { address: number; prefix: number } | undefined {
  const match = /^([\d.]+)\/(\d{1,2})$/.exec(text.trim());
  if (!match) return undefined;
  const address = parseIpv4(match[1]);
  const prefix = Number(match[2]);
  if (address === undefined || prefix > 32) return undefined;
  return { address, prefix };
}

export function subnetOf(address: number, prefix: number): Subnet {
  return { network: (address & mask(prefix)) >>> 0, prefix };
}

export function parseSubnet(text: string): Subnet | undefined {
  const cidr = parseCidr(text);
  return cidr && subnetOf(cidr.address, cidr.prefix);
}

export function formatSubnet(subnet: Subnet): string {
  return `${formatIpv4(subnet.network)}/${subnet.prefix}`;
}

export function contains(subnet: Subnet, address: number): boolean {
  return ((address & mask(subnet.prefix)) >>> 0) === subnet.network;
}

export function overlaps(a: Subnet, b: Subnet): boolean {
  const prefix = Math.min(a.prefix, b.prefix);
  return ((a.network & mask(prefix)) >>> 0) === ((b.network & mask(prefix)) >>> 0);
}

/** The bridge's own address: the first host address of the subnet. */
export function gatewayOf(subnet: Subnet): number {
  return subnet.network + 1;
}

export function broadcastOf(subnet: Subnet): number {
  return (subnet.network | ~mask(subnet.prefix)) >>> 0;
}

/**
 * Leases for `ip=dhcp` interfaces, keyed by `vmid/netN` so a container keeps its address across
 * restarts, and never handing out the gateway, the broadcast address or an address someone
 * asked for statically.
 */
export class LeaseTable {
  private readonly leases = new Map<string, number>();
  private readonly statics = new Map<string, number>();

  constructor(readonly subnet: Subnet) {}

  /** The address leased to `key`, leasing the lowest free one the first time. */
  lease(key: string): number {
    const held = this.leases.get(key);
    if (held !== undefined) return held;
    const taken = new Set<number>([...this.leases.values(), ...this.statics.values()]);
    for (let address = gatewayOf(this.subnet) + 1; address < broadcastOf(this.subnet); address++) {
      if (!taken.has(address)) {
        this.leases.set(key, address);
        return address;
      }
    }
    throw new Error(`no free address left in ${formatSubnet(this.subnet)}`);
  }

  /** Records a static address so that no lease hands it out; drops any lease `key` held. */
  reserveStatic(key: string, address: number): void {
    this.leases.delete(key);
    this.statics.set(key, address);
  }

  /** Forgets what `key` held, lease or static. */
  release(key: string): void {
    this.leases.delete(key);
    this.statics.delete(key);
  }

  /** Forgets every key of one container (`vmid/...`). */
  releaseContainer(vmid: number): void {
    for (const key of [...this.leases.keys(), ...this.statics.keys()]) {
      if (key.startsWith(`${vmid}/`)) this.release(key);
    }
  }
}
