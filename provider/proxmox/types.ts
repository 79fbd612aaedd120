// Types of the Proxmox VE endpoints this provider calls, including the PVE 9 additions that
// proxmox-api 1.1.1's model lacks (`oci-registry-pull`, lxc `entrypoint` / `env`). Generated once from
// the official Proxmox VE 9.1 API schema (pve-docs `apidoc.js`, Proxmox Server Solutions GmbH, AGPL-3.0;
// see /work/shared/proxmox/README.md) by listing each endpoint's parameters / returns; edit by hand since.
// Proxmox sends booleans as 0/1, hence `boolean | 0 | 1`. Other endpoints: proxmox-api's `Proxmox` types.

/** Body of `POST /nodes/{node}/lxc` (returns a UPID, task type `vzcreate`). `env` and `entrypoint` are PVE 9. */
export interface LxcCreateParams {
  /** OS architecture type. */
  arch?: "amd64" | "i386" | "arm64" | "armhf" | "riscv32" | "riscv64";
  /** Override I/O bandwidth limit (in KiB/s). */
  bwlimit?: number;
  /** Console mode. By default, the console command tries to open a connection to one of the available tty devices. By setting cmode to 'console' it tries to attach to /dev/console instead. If you set cmode to 'shell', it simply invokes a shell inside the container (no login). */
  cmode?: "shell" | "console" | "tty";
  /** Attach a console device (/dev/console) to the container. */
  console?: boolean | 0 | 1;
  /** The number of cores assigned to the container. A container can use all available cores by default. */
  cores?: number;
  /** Limit of CPU usage. */
  cpulimit?: number;
  /** CPU weight for a container, will be clamped to [1, 10000] in cgroup v2. */
  cpuunits?: number;
  /** Try to be more verbose. For now this only enables debug log-level on start. */
  debug?: boolean | 0 | 1;
  /** Description for the Container. Shown in the web-interface CT's summary. This is saved as comment inside the configuration file. */
  description?: string;
  /** Device to pass through to the container */
  [key: `dev${number}`]: string | undefined;
  /** Command to run as init, optionally with arguments; may start with an absolute path, relative path, or a binary in $PATH. */
  entrypoint?: string;
  /** The container runtime environment as NUL-separated list. Replaces any lxc.environment.runtime entries in the config. */
  env?: string;
  /** Allow containers access to advanced features. */
  features?: string;
  /** Allow to overwrite existing container. */
  force?: boolean | 0 | 1;
  /** Add the CT as a HA resource after it was created. */
  "ha-managed"?: boolean | 0 | 1;
  /** Script that will be executed during various steps in the containers lifetime. */
  hookscript?: string;
  /** Set a host name for the container. */
  hostname?: string;
  /** Ignore errors when extracting the template. */
  "ignore-unpack-errors"?: boolean | 0 | 1;
  /** Lock/unlock the container. */
  lock?: "backup" | "create" | "destroyed" | "disk" | "fstrim" | "migrate" | "mounted" | "rollback" | "snapshot" | "snapshot-delete";
  /** Amount of RAM for the container in MB. */
  memory?: number;
  /** Use volume as container mount point. Use the special syntax STORAGE_ID:SIZE_IN_GiB to allocate a new volume. */
  [key: `mp${number}`]: string | undefined;
  /** Sets DNS server IP address for a container. Create will automatically use the setting from the host if you neither set searchdomain nor nameserver. */
  nameserver?: string;
  /** Specifies network interfaces for the container. */
  [key: `net${number}`]: string | undefined;
  /** Specifies whether a container will be started during system bootup. */
  onboot?: boolean | 0 | 1;
  /** The OS template or backup file. */
  ostemplate: string;
  /** OS type. This is used to setup configuration inside the container, and corresponds to lxc setup scripts in /usr/share/lxc/config/<ostype>.common.conf. Value 'unmanaged' can be used to skip and OS specific setup. */
  ostype?: "debian" | "devuan" | "ubuntu" | "centos" | "fedora" | "opensuse" | "archlinux" | "alpine" | "gentoo" | "nixos" | "unmanaged";
  /** Sets root password inside container. */
  password?: string;
  /** Add the VM to the specified pool. */
  pool?: string;
  /** Sets the protection flag of the container. This will prevent the CT or CT's disk remove/update operation. */
  protection?: boolean | 0 | 1;
  /** Mark this as restore task. */
  restore?: boolean | 0 | 1;
  /** Use volume as container root. */
  rootfs?: string;
  /** Sets DNS search domains for a container. Create will automatically use the setting from the host if you neither set searchdomain nor nameserver. */
  searchdomain?: string;
  /** Setup public SSH keys (one key per line, OpenSSH format). */
  "ssh-public-keys"?: string;
  /** Start the CT after its creation finished successfully. */
  start?: boolean | 0 | 1;
  /** Startup and shutdown behavior. Order is a non-negative number defining the general startup order. Shutdown in done with reverse ordering. Additionally you can set the 'up' or 'down' delay in seconds, which specifies a delay to wait before the next VM is started or stopped. */
  startup?: string;
  /** Default Storage. */
  storage?: string;
  /** Amount of SWAP for the container in MB. */
  swap?: number;
  /** Tags of the Container. This is only meta information. */
  tags?: string;
  /** Enable/disable Template. */
  template?: boolean | 0 | 1;
  /** Time zone to use in the container. If option isn't set, then nothing will be done. Can be set to 'host' to match the host time zone, or an arbitrary time zone option from /usr/share/zoneinfo/zone.tab */
  timezone?: string;
  /** Specify the number of tty available to the container */
  tty?: number;
  /** Assign a unique random ethernet address. */
  unique?: boolean | 0 | 1;
  /** Makes the container run as unprivileged user. For creation, the default is 1. For restore, the default is the value from the backup. (Should not be modified manually.) */
  unprivileged?: boolean | 0 | 1;
  /** Reference to unused volumes. This is used internally, and should not be modified manually. */
  [key: `unused${number}`]: string | undefined;
  /** The (unique) ID of the VM. */
  vmid: number;
}

/** Body of `PUT /nodes/{node}/lxc/{vmid}/config` (synchronous; `delete=key1,key2`, `digest` for optimistic concurrency). */
export interface LxcConfigUpdateParams {
  /** OS architecture type. */
  arch?: "amd64" | "i386" | "arm64" | "armhf" | "riscv32" | "riscv64";
  /** Console mode. By default, the console command tries to open a connection to one of the available tty devices. By setting cmode to 'console' it tries to attach to /dev/console instead. If you set cmode to 'shell', it simply invokes a shell inside the container (no login). */
  cmode?: "shell" | "console" | "tty";
  /** Attach a console device (/dev/console) to the container. */
  console?: boolean | 0 | 1;
  /** The number of cores assigned to the container. A container can use all available cores by default. */
  cores?: number;
  /** Limit of CPU usage. */
  cpulimit?: number;
  /** CPU weight for a container, will be clamped to [1, 10000] in cgroup v2. */
  cpuunits?: number;
  /** Try to be more verbose. For now this only enables debug log-level on start. */
  debug?: boolean | 0 | 1;
  /** A list of settings you want to delete. */
  delete?: string;
  /** Description for the Container. Shown in the web-interface CT's summary. This is saved as comment inside the configuration file. */
  description?: string;
  /** Device to pass through to the container */
  [key: `dev${number}`]: string | undefined;
  /** Prevent changes if current configuration file has different SHA1 digest. This can be used to prevent concurrent modifications. */
  digest?: string;
  /** Command to run as init, optionally with arguments; may start with an absolute path, relative path, or a binary in $PATH. */
  entrypoint?: string;
  /** The container runtime environment as NUL-separated list. Replaces any lxc.environment.runtime entries in the config. */
  env?: string;
  /** Allow containers access to advanced features. */
  features?: string;
  /** Script that will be executed during various steps in the containers lifetime. */
  hookscript?: string;
  /** Set a host name for the container. */
  hostname?: string;
  /** Lock/unlock the container. */
  lock?: "backup" | "create" | "destroyed" | "disk" | "fstrim" | "migrate" | "mounted" | "rollback" | "snapshot" | "snapshot-delete";
  /** Amount of RAM for the container in MB. */
  memory?: number;
  /** Use volume as container mount point. Use the special syntax STORAGE_ID:SIZE_IN_GiB to allocate a new volume. */
  [key: `mp${number}`]: string | undefined;
  /** Sets DNS server IP address for a container. Create will automatically use the setting from the host if you neither set searchdomain nor nameserver. */
  nameserver?: string;
  /** Specifies network interfaces for the container. */
  [key: `net${number}`]: string | undefined;
  /** Specifies whether a container will be started during system bootup. */
  onboot?: boolean | 0 | 1;
  /** OS type. This is used to setup configuration inside the container, and corresponds to lxc setup scripts in /usr/share/lxc/config/<ostype>.common.conf. Value 'unmanaged' can be used to skip and OS specific setup. */
  ostype?: "debian" | "devuan" | "ubuntu" | "centos" | "fedora" | "opensuse" | "archlinux" | "alpine" | "gentoo" | "nixos" | "unmanaged";
  /** Sets the protection flag of the container. This will prevent the CT or CT's disk remove/update operation. */
  protection?: boolean | 0 | 1;
  /** Revert a pending change. */
  revert?: string;
  /** Use volume as container root. */
  rootfs?: string;
  /** Sets DNS search domains for a container. Create will automatically use the setting from the host if you neither set searchdomain nor nameserver. */
  searchdomain?: string;
  /** Startup and shutdown behavior. Order is a non-negative number defining the general startup order. Shutdown in done with reverse ordering. Additionally you can set the 'up' or 'down' delay in seconds, which specifies a delay to wait before the next VM is started or stopped. */
  startup?: string;
  /** Amount of SWAP for the container in MB. */
  swap?: number;
  /** Tags of the Container. This is only meta information. */
  tags?: string;
  /** Enable/disable Template. */
  template?: boolean | 0 | 1;
  /** Time zone to use in the container. If option isn't set, then nothing will be done. Can be set to 'host' to match the host time zone, or an arbitrary time zone option from /usr/share/zoneinfo/zone.tab */
  timezone?: string;
  /** Specify the number of tty available to the container */
  tty?: number;
  /** Makes the container run as unprivileged user. For creation, the default is 1. For restore, the default is the value from the backup. (Should not be modified manually.) */
  unprivileged?: boolean | 0 | 1;
  /** Reference to unused volumes. This is used internally, and should not be modified manually. */
  [key: `unused${number}`]: string | undefined;
}

/** `GET /nodes/{node}/lxc/{vmid}/config` (pending values unless `current=1`). */
export interface LxcConfig {
  /** OS architecture type. */
  arch?: "amd64" | "i386" | "arm64" | "armhf" | "riscv32" | "riscv64";
  /** Console mode. By default, the console command tries to open a connection to one of the available tty devices. By setting cmode to 'console' it tries to attach to /dev/console instead. If you set cmode to 'shell', it simply invokes a shell inside the container (no login). */
  cmode?: "shell" | "console" | "tty";
  /** Attach a console device (/dev/console) to the container. */
  console?: boolean | 0 | 1;
  /** The number of cores assigned to the container. A container can use all available cores by default. */
  cores?: number;
  /** Limit of CPU usage. */
  cpulimit?: number;
  /** CPU weight for a container, will be clamped to [1, 10000] in cgroup v2. */
  cpuunits?: number;
  /** Try to be more verbose. For now this only enables debug log-level on start. */
  debug?: boolean | 0 | 1;
  /** Description for the Container. Shown in the web-interface CT's summary. This is saved as comment inside the configuration file. */
  description?: string;
  /** Device to pass through to the container */
  [key: `dev${number}`]: string | undefined;
  /** SHA1 digest of configuration file. This can be used to prevent concurrent modifications. */
  digest: string;
  /** Command to run as init, optionally with arguments; may start with an absolute path, relative path, or a binary in $PATH. */
  entrypoint?: string;
  /** The container runtime environment as NUL-separated list. Replaces any lxc.environment.runtime entries in the config. */
  env?: string;
  /** Allow containers access to advanced features. */
  features?: string;
  /** Script that will be executed during various steps in the containers lifetime. */
  hookscript?: string;
  /** Set a host name for the container. */
  hostname?: string;
  /** Lock/unlock the container. */
  lock?: "backup" | "create" | "destroyed" | "disk" | "fstrim" | "migrate" | "mounted" | "rollback" | "snapshot" | "snapshot-delete";
  /** Array of lxc low-level configurations ([[key1, value1], [key2, value2] ...]). */
  lxc?: unknown[];
  /** Amount of RAM for the container in MB. */
  memory?: number;
  /** Use volume as container mount point. Use the special syntax STORAGE_ID:SIZE_IN_GiB to allocate a new volume. */
  [key: `mp${number}`]: string | undefined;
  /** Sets DNS server IP address for a container. Create will automatically use the setting from the host if you neither set searchdomain nor nameserver. */
  nameserver?: string;
  /** Specifies network interfaces for the container. */
  [key: `net${number}`]: string | undefined;
  /** Specifies whether a container will be started during system bootup. */
  onboot?: boolean | 0 | 1;
  /** OS type. This is used to setup configuration inside the container, and corresponds to lxc setup scripts in /usr/share/lxc/config/<ostype>.common.conf. Value 'unmanaged' can be used to skip and OS specific setup. */
  ostype?: "debian" | "devuan" | "ubuntu" | "centos" | "fedora" | "opensuse" | "archlinux" | "alpine" | "gentoo" | "nixos" | "unmanaged";
  /** Sets the protection flag of the container. This will prevent the CT or CT's disk remove/update operation. */
  protection?: boolean | 0 | 1;
  /** Use volume as container root. */
  rootfs?: string;
  /** Sets DNS search domains for a container. Create will automatically use the setting from the host if you neither set searchdomain nor nameserver. */
  searchdomain?: string;
  /** Startup and shutdown behavior. Order is a non-negative number defining the general startup order. Shutdown in done with reverse ordering. Additionally you can set the 'up' or 'down' delay in seconds, which specifies a delay to wait before the next VM is started or stopped. */
  startup?: string;
  /** Amount of SWAP for the container in MB. */
  swap?: number;
  /** Tags of the Container. This is only meta information. */
  tags?: string;
  /** Enable/disable Template. */
  template?: boolean | 0 | 1;
  /** Time zone to use in the container. If option isn't set, then nothing will be done. Can be set to 'host' to match the host time zone, or an arbitrary time zone option from /usr/share/zoneinfo/zone.tab */
  timezone?: string;
  /** Specify the number of tty available to the container */
  tty?: number;
  /** Makes the container run as unprivileged user. For creation, the default is 1. For restore, the default is the value from the backup. (Should not be modified manually.) */
  unprivileged?: boolean | 0 | 1;
  /** Reference to unused volumes. This is used internally, and should not be modified manually. */
  [key: `unused${number}`]: string | undefined;
}

/** Body of `POST /nodes/{node}/lxc/{vmid}/clone` (returns a UPID). */
export interface LxcCloneParams {
  /** Override I/O bandwidth limit (in KiB/s). */
  bwlimit?: number;
  /** Description for the new CT. */
  description?: string;
  /** Create a full copy of all disks. This is always done when you clone a normal CT. For CT templates, we try to create a linked clone by default. */
  full?: boolean | 0 | 1;
  /** Set a hostname for the new CT. */
  hostname?: string;
  /** VMID for the clone. */
  newid: number;
  /** Add the new CT to the specified pool. */
  pool?: string;
  /** The name of the snapshot. */
  snapname?: string;
  /** Target storage for full clone. */
  storage?: string;
  /** Target node. Only allowed if the original VM is on shared storage. */
  target?: string;
}

/** Body of `POST /nodes/{node}/lxc/{vmid}/status/shutdown` (returns a UPID). */
export interface LxcShutdownParams {
  /** Make sure the Container stops. */
  forceStop?: boolean | 0 | 1;
  /** Wait maximal timeout seconds. */
  timeout?: number;
}

/** Query of `DELETE /nodes/{node}/lxc/{vmid}` (returns a UPID; the container must be stopped). */
export interface LxcDeleteParams {
  /** If set, destroy additionally all disks with the VMID from all enabled storages which are not referenced in the config. */
  "destroy-unreferenced-disks"?: boolean | 0 | 1;
  /** Force destroy, even if running. */
  force?: boolean | 0 | 1;
  /** Remove container from all related configurations. For example, backup jobs, replication jobs or HA. Related ACLs and Firewall entries will *always* be removed. */
  purge?: boolean | 0 | 1;
}

/** `GET /nodes/{node}/lxc/{vmid}/status/current`. A non-empty `lock` means config changes fail until it clears. */
export interface LxcStatus {
  /** Current CPU usage. */
  cpu?: number;
  /** Maximum usable CPUs. */
  cpus?: number;
  /** Root disk image space-usage in bytes. */
  disk?: number;
  /** The amount of bytes the guest read from it's block devices since the guest was started. (Note: This info is not available for all storage types.) */
  diskread?: number;
  /** The amount of bytes the guest wrote from it's block devices since the guest was started. (Note: This info is not available for all storage types.) */
  diskwrite?: number;
  /** HA manager service status. */
  ha: Record<string, unknown>;
  /** The current config lock, if any. */
  lock?: string;
  /** Root disk image size in bytes. */
  maxdisk?: number;
  /** Maximum memory in bytes. */
  maxmem?: number;
  /** Maximum SWAP memory in bytes. */
  maxswap?: number;
  /** Currently used memory in bytes. */
  mem?: number;
  /** Container name. */
  name?: string;
  /** The amount of traffic in bytes that was sent to the guest over the network since it was started. */
  netin?: number;
  /** The amount of traffic in bytes that was sent from the guest over the network since it was started. */
  netout?: number;
  /** CPU Some pressure stall average over the last 10 seconds. */
  pressurecpusome?: number;
  /** IO Full pressure stall average over the last 10 seconds. */
  pressureiofull?: number;
  /** IO Some pressure stall average over the last 10 seconds. */
  pressureiosome?: number;
  /** Memory Full pressure stall average over the last 10 seconds. */
  pressurememoryfull?: number;
  /** Memory Some pressure stall average over the last 10 seconds. */
  pressurememorysome?: number;
  /** LXC Container status. */
  status: "stopped" | "running";
  /** The current configured tags, if any. */
  tags?: string;
  /** Determines if the guest is a template. */
  template?: boolean | 0 | 1;
  /** Uptime in seconds. */
  uptime?: number;
  /** The (unique) ID of the VM. */
  vmid: number;
}

/** One entry of `GET /nodes/{node}/lxc/{vmid}/pending`. */
export interface LxcPendingItem {
  /** Indicates a pending delete request if present and not 0. */
  delete?: number;
  /** Configuration option name. */
  key: string;
  /** Pending value. */
  pending?: string;
  /** Current value. */
  value?: string;
}

/** One entry of `GET /nodes/{node}/lxc/{vmid}/interfaces` (PVE 8.1+). Read `inet` too: `ip-addresses` can be empty. */
export interface LxcInterface {
  /** The MAC address of the interface */
  "hardware-address": string;
  /** The MAC address of the interface */
  hwaddr: string;
  /** The IPv4 address of the interface */
  inet?: string;
  /** The IPv6 address of the interface */
  inet6?: string;
  /** The addresses of the interface */
  "ip-addresses": Array<{ "ip-address"?: string; "ip-address-type"?: string; prefix?: number }>;
  /** The name of the interface */
  name: string;
}

/** Body of `POST /nodes/{node}/storage/{storage}/oci-registry-pull` (PVE 9.1+, returns a UPID; public images only). */
export interface OciRegistryPullParams {
  /** Custom destination file name of the OCI image. Caution: This will be normalized! */
  filename?: string;
  /** The reference to the OCI image to download. */
  reference: string;
}

/** One entry of `GET /cluster/resources` (`type=vm` lists containers and VMs of the whole cluster). */
export interface ClusterResource {
  /** The cgroup mode the node operates under (for type 'node'). */
  "cgroup-mode"?: number;
  /** Allowed storage content types (for type 'storage'). */
  content?: string;
  /** CPU utilization (for types 'node', 'qemu' and 'lxc'). */
  cpu?: number;
  /** Used disk space in bytes (for type 'storage'), used root image space for VMs (for types 'qemu' and 'lxc'). */
  disk?: number;
  /** The number of bytes the guest read from its block devices since the guest was started. This info is not available for all storage types. (for types 'qemu' and 'lxc') */
  diskread?: number;
  /** The number of bytes the guest wrote to its block devices since the guest was started. This info is not available for all storage types. (for types 'qemu' and 'lxc') */
  diskwrite?: number;
  /** HA service status (for HA managed VMs). */
  hastate?: string;
  /** Resource id. */
  id: string;
  /** Support level (for type 'node'). */
  level?: string;
  /** The guest's current config lock (for types 'qemu' and 'lxc') */
  lock?: string;
  /** Number of available CPUs (for types 'node', 'qemu' and 'lxc'). */
  maxcpu?: number;
  /** Storage size in bytes (for type 'storage'), root image size for VMs (for types 'qemu' and 'lxc'). */
  maxdisk?: number;
  /** Number of available memory in bytes (for types 'node', 'qemu' and 'lxc'). */
  maxmem?: number;
  /** Used memory in bytes (for types 'node', 'qemu' and 'lxc'). */
  mem?: number;
  /** Used memory in bytes from the point of view of the host (for types 'qemu'). */
  memhost?: number;
  /** Name of the resource. */
  name?: string;
  /** The amount of traffic in bytes that was sent to the guest over the network since it was started. (for types 'qemu' and 'lxc') */
  netin?: number;
  /** The amount of traffic in bytes that was sent from the guest over the network since it was started. (for types 'qemu' and 'lxc') */
  netout?: number;
  /** The name of a Network entity (for type 'network'). */
  network?: string;
  /** The type of network resource (for type 'network'). */
  "network-type"?: "fabric" | "zone";
  /** The cluster node name (for types 'node', 'storage', 'qemu', and 'lxc'). */
  node?: string;
  /** More specific type, if available. */
  plugintype?: string;
  /** The pool name (for types 'pool', 'qemu' and 'lxc'). */
  pool?: string;
  /** The protocol of a fabric (for type 'network', network-type 'fabric'). */
  protocol?: string;
  /** The name of an SDN entity (for type 'sdn') */
  sdn?: string;
  /** Resource type dependent status. */
  status?: string;
  /** The storage identifier (for type 'storage'). */
  storage?: string;
  /** The guest's tags (for types 'qemu' and 'lxc') */
  tags?: string;
  /** Determines if the guest is a template. (for types 'qemu' and 'lxc') */
  template?: boolean | 0 | 1;
  /** Resource type. */
  type: "node" | "storage" | "pool" | "qemu" | "lxc" | "openvz" | "sdn" | "network";
  /** Uptime of node or virtual guest in seconds (for types 'node', 'qemu' and 'lxc'). */
  uptime?: number;
  /** The numerical vmid (for types 'qemu' and 'lxc'). */
  vmid?: number;
  /** The type of an SDN zone (for type 'sdn'). */
  "zone-type"?: string;
}

/** One entry of `GET /nodes`. */
export interface NodeSummary {
  /** CPU utilization. */
  cpu?: number;
  /** Support level. */
  level?: string;
  /** Number of available CPUs. */
  maxcpu?: number;
  /** Number of available memory in bytes. */
  maxmem?: number;
  /** Used memory in bytes. */
  mem?: number;
  /** The cluster node name. */
  node: string;
  /** The SSL fingerprint for the node certificate. */
  ssl_fingerprint?: string;
  /** Node status. */
  status: "unknown" | "online" | "offline";
  /** Node uptime in seconds. */
  uptime?: number;
}

/** One entry of `GET /nodes/{node}/storage`. */
export interface StorageSummary {
  /** Set when storage is accessible. */
  active?: boolean | 0 | 1;
  /** Available storage space in bytes. */
  avail?: number;
  /** Allowed storage content types. */
  content: string;
  /** Set when storage is enabled (not disabled). */
  enabled?: boolean | 0 | 1;
  /** Lists the supported and default format. Use 'formats' instead. Only included if 'format' parameter is set. */
  formats?: Record<string, unknown>;
  /** Instead of creating new volumes, one must select one that is already existing. Only included if 'format' parameter is set. */
  select_existing?: boolean | 0 | 1;
  /** Shared flag from storage configuration. */
  shared?: boolean | 0 | 1;
  /** The storage identifier. */
  storage: string;
  /** Total storage space in bytes. */
  total?: number;
  /** Storage type. */
  type: string;
  /** Used storage space in bytes. */
  used?: number;
  /** Used fraction (used/total). */
  used_fraction?: number;
}

/** One entry of `GET /nodes/{node}/storage/{storage}/content` (`content=vztmpl` for templates and pulled OCI images). */
export interface StorageContentItem {
  /** Creation time (seconds since the UNIX Epoch). */
  ctime?: number;
  /** If whole backup is encrypted, value is the fingerprint or '1'  if encrypted. Only useful for the Proxmox Backup Server storage type. */
  encrypted?: string;
  /** Format identifier ('raw', 'qcow2', 'subvol', 'iso', 'tgz' ...) */
  format: string;
  /** Optional notes. If they contain multiple lines, only the first one is returned here. */
  notes?: string;
  /** Volume identifier of parent (for linked cloned). */
  parent?: string;
  /** Protection status. Currently only supported for backups. */
  protected?: boolean | 0 | 1;
  /** Volume size in bytes. */
  size: number;
  /** Used space. Please note that most storage plugins do not report anything useful here. */
  used?: number;
  /** Last backup verification result, only useful for PBS storages. */
  verification?: Record<string, unknown>;
  /** Associated Owner VMID. */
  vmid?: number;
  /** Volume identifier. */
  volid: string;
}

/** `GET /nodes/{node}/tasks/{upid}/status`. `exitstatus` is `OK`, `WARNINGS: n`, or the failure message. */
export interface TaskStatus {
  exitstatus?: string;
  id: string;
  node: string;
  pid: number;
  pstart: number;
  starttime: number;
  status: "running" | "stopped";
  type: string;
  upid: string;
  user: string;
}

/** One line of `GET /nodes/{node}/tasks/{upid}/log`. */
export interface TaskLogLine {
  /** Line number */
  n: number;
  /** Line text */
  t: string;
}

/** Body of `PUT /access/acl`. */
export interface AclUpdateParams {
  /** Remove permissions (instead of adding it). */
  delete?: boolean | 0 | 1;
  /** List of groups. */
  groups?: string;
  /** Access control path */
  path: string;
  /** Allow to propagate (inherit) permissions. */
  propagate?: boolean | 0 | 1;
  /** List of roles. */
  roles: string;
  /** List of API tokens. */
  tokens?: string;
  /** List of users. */
  users?: string;
}

/** `POST /access/ticket`: a ticket (cookie `PVEAuthCookie`) and the CSRF token for writes. */
export interface TicketResponse {
  CSRFPreventionToken?: string;
  clustername?: string;
  ticket?: string;
  username: string;
}

/** What a task-starting call returns as `data`: `UPID:<node>:<pid>:<pstart>:<starttime>:<type>:<id>:<user>:`. */
export type UpidString = string;
