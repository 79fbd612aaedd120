// The in-memory container backend: containers are records; a DHCP-like IPv4 from 10.99.0.0/16
// shows up on `dhcp` interfaces `ipDelayMs` after start, the way a real lease arrives late, and only
// where a node would configure one (the container's own init, or a host-managed NIC).
import type { BackendContainerSpec, BackendInterface, ContainerBackend } from "./backend";

interface MemoryContainer {
  spec: BackendContainerSpec;
  running: boolean;
  startedAt: number;
  /** When the DHCP address shows: start plus the delay in force at that start. */
  leasedAt: number;
  /** One address per dhcp interface name, kept across restarts like a lease. */
  leases: Map<string, string>;
}

export interface MemoryBackendOptions {
  /** How long after start a `dhcp` interface reports its IPv4 (default 0). */
  ipDelayMs?: number;
}

export class MemoryBackend implements ContainerBackend {
  readonly kind = "memory" as const;
  private readonly containers = new Map<number, MemoryContainer>();
  private nextHost = 10;
  /** How long after start the address shows; settable between bench runs (each start takes the value in force). */
  ipDelayMs: number;
  /** A container's own address delay, where given, over `ipDelayMs` (the bench draws one per container). */
  ipDelayFor: (vmid: number) => number | undefined = () => undefined;
  /** Sandbox-only, for the bench: each start's time and when its address showed, ms since the epoch, by VMID. */
  readonly starts: Array<{ vmid: number; startedMs: number; leasedMs: number }> = [];

  constructor(options: MemoryBackendOptions = {}) {
    this.ipDelayMs = options.ipDelayMs ?? 0;
  }

  private get(vmid: number): MemoryContainer {
    const container = this.containers.get(vmid);
    if (!container) throw new Error(`container ${vmid} is not known to the memory backend`);
    return container;
  }

  private lease(): string {
    const host = this.nextHost++;
    return `10.99.${Math.floor(host / 254) % 256}.${(host % 254) + 1}`;
  }

  async create(spec: BackendContainerSpec): Promise<void> {
    this.containers.set(spec.vmid, { spec, running: false, startedAt: 0, leasedAt: 0, leases: new Map() });
  }

  async reconfigure(spec: BackendContainerSpec): Promise<void> {
    this.get(spec.vmid).spec = spec;
  }

  async start(vmid: number): Promise<void> {
    const container = this.get(vmid);
    container.running = true;
    container.startedAt = Date.now();
    container.leasedAt = container.startedAt + (this.ipDelayFor(vmid) ?? this.ipDelayMs);
    this.starts.push({ vmid, startedMs: container.startedAt, leasedMs: container.leasedAt });
  }

  async stop(vmid: number): Promise<void> {
    this.get(vmid).running = false;
  }

  async shutdown(vmid: number): Promise<void> {
    this.get(vmid).running = false;
  }

  async isRunning(vmid: number): Promise<boolean> {
    return this.containers.get(vmid)?.running ?? false;
  }

  /** Ends the container as if its entrypoint had exited (for tests: the API layer must notice). */
  exit(vmid: number): void {
    this.get(vmid).running = false;
  }

  async destroy(vmid: number): Promise<void> {
    this.containers.delete(vmid);
  }

  async interfaces(vmid: number): Promise<BackendInterface[]> {
    const container = this.containers.get(vmid);
    if (!container || !container.running) return [];
    const leased = Date.now() >= container.leasedAt;
    const result: BackendInterface[] = [{ name: "lo", hwaddr: "00:00:00:00:00:00", inet: "127.0.0.1/8", inet6: "::1/128" }];
    // As on a node: an entrypoint replaces the image's init (and its DHCP client and ifupdown), so only a
    // host-managed NIC gets an address then (the node's dhclient or LXC's static address).
    const configured = (network: BackendContainerSpec["networks"][number]) => !container.spec.entrypoint?.trim() || network.hostManaged === true;
    for (const network of container.spec.networks) {
      const entry: BackendInterface = { name: network.name, hwaddr: network.hwaddr };
      if (!configured(network)) {
        result.push(entry);
        continue;
      }
      if (network.ip === "dhcp" && leased) {
        let address = container.leases.get(network.name);
        if (!address) container.leases.set(network.name, (address = this.lease()));
        entry.inet = `${address}/16`;
      } else if (network.ip && /^[\d.]+\/\d+$/.test(network.ip)) {
        entry.inet = network.ip;
      }
      if (network.ip6 && /\//.test(network.ip6)) entry.inet6 = network.ip6;
      result.push(entry);
    }
    return result;
  }

  async cleanup(): Promise<void> {}

  async close(): Promise<void> {
    this.containers.clear();
  }
}
