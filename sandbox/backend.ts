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
  /** `host-managed=1`: the node configures the address (static, or its own dhclient for `dhcp`), not the container. */
  hostManaged?: boolean;
}

/** What a container's rootfs is made from: a vztmpl archive, or an OCI archive pulled into vztmpl. */
export interface BackendArchive {
  /** The archive's absolute path on the node. */
  path: string;
  kind: "template" | "oci";
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
  /** The config's `ostype`; `unmanaged` means no setup is written into the rootfs. */
  ostype?: string;
  /** The archive to extract at create (a backend without real files ignores it). */
  archive?: BackendArchive;
  /** Raw `lxc.*` keys of the config (`lxc.init.cwd`, `lxc.signal.halt`, ...), in order. */
  lxc?: Array<[string, string]>;
}

export interface RegistryTrust {
  /** A containers-certs.d style directory (`ca.crt` inside) for `skopeo --src-cert-dir`. */
  certDir?: string;
  /** A containers-auth.json for `skopeo --src-authfile`. */
  authFile?: string;
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
  /**
   * Makes the container's filesystem (only from `spec.archive`, when given) and definition; it is not
   * started. Answers the OS type it detected in the rootfs, when it looked.
   */
  create(spec: BackendContainerSpec): Promise<{ ostype?: string } | void>;
  /** A new container whose rootfs is a copy of `sourceVmid`'s (a stopped container or a template). */
  clone?(sourceVmid: number, spec: BackendContainerSpec): Promise<void>;
  /**
   * Where each node's `local` storage lives for this run (`<dir>/<node>`, vztmpl files under
   * `template/cache`), when the backend has real files; undefined keeps storages as records.
   */
  readonly storageDir?: string;
  /** The standard system template's file, placed in every node's vztmpl directory. */
  readonly standardTemplate?: string;

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
