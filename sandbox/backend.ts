// What runs a sandbox container. The API layer (sandbox/server) owns Proxmox semantics: VMIDs,
// configs, tasks, locks, validation, errors. A backend only makes the container real (or not):
// `memory` keeps records, `lxc` runs real LXC containers on a bridge the sandbox owns.

export interface BackendNetwork {
  /** Interface name inside the container, from `net0`'s `name=`. */
  name: string;
  /** `net0`'s `hwaddr=`; the API layer always fills one in, as Proxmox does. */
  hwaddr: string;
  /** `dhcp`, a static `A.B.C.D/N`, or undefined for no IPv4. */
  ip?: string;
  gw?: string;
  /** `dhcp`, `auto`, a static `addr/N`, or undefined. */
  ip6?: string;
  gw6?: string;
  bridge?: string;
  tag?: number;
}

export interface BackendContainerSpec {
  vmid: number;
  hostname: string;
  /** The volid of the template or OCI image the rootfs came from. */
  ostemplate?: string;
  cores?: number;
  /** MiB */
  memory: number;
  /** MiB */
  swap: number;
  networks: BackendNetwork[];
  nameserver?: string;
  searchdomain?: string;
  /** OpenSSH public keys, installed for root. */
  sshPublicKeys: string[];
  /** NUL-separated `K=V` pairs in Proxmox; here already split. */
  env: Record<string, string>;
  entrypoint?: string;
  unprivileged: boolean;
}

export interface BackendInterface {
  name: string;
  hwaddr: string;
  /** `A.B.C.D/N` */
  inet?: string;
  /** `addr/N` */
  inet6?: string;
}

export interface ContainerBackend {
  readonly kind: "memory" | "lxc";
  /** Makes the container's filesystem and definition; it is not started. */
  create(spec: BackendContainerSpec): Promise<void>;
  /** Applies a changed definition (hostname, limits, network, keys) to a created container. */
  reconfigure(spec: BackendContainerSpec): Promise<void>;
  start(vmid: number): Promise<void>;
  /** Hard stop. */
  stop(vmid: number): Promise<void>;
  /** Clean shutdown, then a hard stop after `timeoutSeconds` when `forceStop`. */
  shutdown(vmid: number, options: { timeoutSeconds: number; forceStop: boolean }): Promise<void>;
  destroy(vmid: number): Promise<void>;
  /**
   * Whether the container runs right now. A container stops by itself when its entrypoint (init)
   * exits; the API layer asks this before it reports a status, as PVE asks LXC. Backends without
   * it are taken at the API layer's word.
   */
  isRunning?(vmid: number): Promise<boolean>;
  /** The container's interfaces as `GET .../interfaces` reports them; empty while it is stopped. */
  interfaces(vmid: number): Promise<BackendInterface[]>;
  /** Removes what an earlier, crashed run of this backend left behind. */
  cleanup(): Promise<void>;
  close(): Promise<void>;
}
