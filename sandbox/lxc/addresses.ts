// IPv4 addresses (parsed, masked and formatted by ip-address) and the backend's DHCP-like lease
// table. Pure: no host state is read here.
import { Address4 } from "ip-address";

export interface Subnet {
  /** Network address as a 32-bit number. */
  network: number;
  prefix: number;
}

/** An address or CIDR parsed by ip-address; undefined when malformed. */
function parsed(text: string): Address4 | undefined {
  try { return new Address4(text); } catch { return undefined; }
}

const numberOf = (address: Address4): number => Number(address.bigInt());

/** A dotted quad (no prefix) as a number. */
export function parseIpv4(text: string): number | undefined {
  const address = text.includes("/") ? undefined : parsed(text);
  return address && numberOf(address);
}

export function formatIpv4(value: number): string {
  return Address4.fromBigInt(BigInt(value)).correctForm();
}

/** `A.B.C.D/N` to its address and prefix; undefined when malformed. */
export function parseCidr(text: string): { address: number; prefix: number } | undefined {
  const cidr = text.includes("/") ? parsed(text.trim()) : undefined;
  return cidr && { address: numberOf(cidr), prefix: cidr.subnetMask };
}

function cidrOf(subnet: Subnet): Address4 {
  return new Address4(formatSubnet(subnet));
}

export function subnetOf(address: number, prefix: number): Subnet {
  return { network: numberOf(new Address4(`${formatIpv4(address)}/${prefix}`).startAddress()), prefix };
}

export function parseSubnet(text: string): Subnet | undefined {
  const cidr = parseCidr(text);
  return cidr && subnetOf(cidr.address, cidr.prefix);
}

export function formatSubnet(subnet: Subnet): string {
  return `${formatIpv4(subnet.network)}/${subnet.prefix}`;
}

export function contains(subnet: Subnet, address: number): boolean {
  return new Address4(formatIpv4(address)).isInSubnet(cidrOf(subnet));
}

/** Two subnets overlap when one holds the other's network address. */
export function overlaps(a: Subnet, b: Subnet): boolean {
  return contains(a, b.network) || contains(b, a.network);
}

/** The subnet mask as a dotted quad (dnsmasq's --dhcp-range wants one). */
export function netmaskOf(subnet: Subnet): string {
  return new Address4(`255.255.255.255/${subnet.prefix}`).startAddress().correctForm();
}

/** The bridge's own address: the first host address of the subnet. */
export function gatewayOf(subnet: Subnet): number {
  return subnet.network + 1;
}

export function broadcastOf(subnet: Subnet): number {
  return numberOf(cidrOf(subnet).endAddress());
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
