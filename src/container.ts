import * as pulumi from "@pulumi/pulumi";
import { renderSweepTags } from "./sweep/tags";
import { identityOf } from "../provider/container/identity";
import { forwardingProvider } from "./internal/forwardingProvider";
import { assertEnvNames } from "./internal/plainEnv";


/** Static IPv4 settings of `net0`. */
export interface StaticIpv4 {
  /** Address with prefix length, e.g. `10.0.0.5/24`. */
  readonly address: pulumi.Input<string>;
  /** Default gateway; must lie inside `address`'s subnet. @default - no gateway */
  readonly gateway?: pulumi.Input<string>;
}

/** Static IPv6 settings of `net0`. */
export interface StaticIpv6 {
  /** Address with prefix length, e.g. `fd00::5/64`. */
  readonly address: pulumi.Input<string>;
  /** Default gateway. @default - no gateway */
  readonly gateway?: pulumi.Input<string>;
}

/** The container's one network interface, `eth0` (`net0`). @see https://pve.proxmox.com/wiki/Linux_Container#pct_container_network */
export interface ContainerNetworkArgs {
  /** Bridge to attach to. @default "vmbr0" */
  readonly bridge?: pulumi.Input<string>;
  /** VLAN tag, 1-4094. @default - untagged */
  readonly vlan?: pulumi.Input<number>;
  /** `"dhcp"` or a static address; changing it restarts the container. @default "dhcp" */
  readonly ipv4?: pulumi.Input<"dhcp" | StaticIpv4>;
  /** `"dhcp"`, `"auto"` (SLAAC) or a static address; changing it restarts the container. @default - no IPv6 */
  readonly ipv6?: pulumi.Input<"dhcp" | "auto" | StaticIpv6>;
  /** Use the Proxmox firewall on this interface. @default false */
  readonly firewall?: pulumi.Input<boolean>;
  /** MTU, 576-65535. @default - the bridge's MTU */
  readonly mtu?: pulumi.Input<number>;
}

/** LXC feature flags. Flags other than `nesting` (and any flag on a privileged container) need the user root@pam logged in with its password: no API token can set them, so `check` refuses them with a token. @see https://pve.proxmox.com/wiki/Linux_Container#pct_options */
export interface ContainerFeaturesArgs {
  /** Allow nested containers / systemd sandboxing. @default true */
  readonly nesting?: pulumi.Input<boolean>;
  /** Allow the keyctl() system call (needed by Docker in unprivileged containers). @default false */
  readonly keyctl?: pulumi.Input<boolean>;
  /** Allow FUSE mounts. @default false */
  readonly fuse?: pulumi.Input<boolean>;
}

/** Seconds to wait for each phase before failing. */
export interface ContainerTimeoutsArgs {
  /** Pulling the image and the create (or clone) task. @default 600 */
  readonly create?: pulumi.Input<number>;
  /** The start task. @default 120 */
  readonly start?: pulumi.Input<number>;
  /** An address to show up on `eth0` after start. @default 120 */
  readonly ip?: pulumi.Input<number>;
  /** Shutdown and destroy. @default 300 */
  readonly delete?: pulumi.Input<number>;
}

/**
 * Credentials for a private `image` registry; stored only as a secret (sealed here even when given as
 * plain strings). With them the image is copied where `pulumi up` runs (needs `skopeo`) and uploaded
 * to the node, so the credentials never reach a node. For GHCR: `{ username: "x-access-token", password: process.env.GITHUB_TOKEN }`.
 */
export interface ImageCredentialsArgs {
  /** Registry user name. */
  readonly username: pulumi.Input<string>;
  /** Password or token (GHCR: a `GITHUB_TOKEN` or a PAT with `read:packages`). */
  readonly password: pulumi.Input<string>;
  /** A containers-certs.d directory (`ca.crt` inside) for a registry with a private CA, on the machine running `pulumi up`. @default - the system's trust */
  readonly certDir?: pulumi.Input<string>;
}

/** A per-resource Proxmox connection; stored only as a secret. @default - the provider's configuration */
export interface ContainerConnectionArgs {
  /** API URL, e.g. `https://pve.example.com:8006`. @default - `launchpad:endpoint` or `PROXMOX_VE_ENDPOINT` */
  readonly endpoint?: pulumi.Input<string>;
  /** API token `USER@REALM!TOKENID=SECRET`. @default - `launchpad:apiToken` or `PROXMOX_VE_API_TOKEN` */
  readonly apiToken?: pulumi.Input<string>;
  /** User for ticket login, when no token is given. @default - `PROXMOX_VE_USERNAME` */
  readonly username?: pulumi.Input<string>;
  /** Password for ticket login. @default - `PROXMOX_VE_PASSWORD` */
  readonly password?: pulumi.Input<string>;
  /** SHA-256 fingerprint of the API certificate to pin. @default - `launchpad:fingerprint` */
  readonly fingerprint?: pulumi.Input<string>;
  /** PEM CA certificate to trust. @default - `launchpad:caCert` */
  readonly caCert?: pulumi.Input<string>;
  /** Skip TLS verification (not recommended). @default false */
  readonly insecure?: pulumi.Input<boolean>;
}

/**
 * Arguments of a {@link LaunchpadContainer}. Exactly one of `image`, `template` and `clone` is required.
 * @see https://pve.proxmox.com/pve-docs/api-viewer/#/nodes/{node}/lxc
 */
export interface LaunchpadContainerArgs {
  /** Host name (DNS labels); changed in place. @see https://pve.proxmox.com/pve-docs/api-viewer/#/nodes/{node}/lxc (`hostname`) */
  readonly hostname: pulumi.Input<string>;
  /** OCI image reference (`docker.io/library/nginx:1.27`), pulled once into a `vztmpl` storage and reused. Only one of `image`, `template` and `clone` can be given. @default - none @see https://pve.proxmox.com/wiki/Linux_Container#pct_oci_images */
  readonly image?: pulumi.Input<string>;
  /** Registry credentials for `image`, kept secret: the image is copied where `pulumi up` runs (`skopeo`) and uploaded to the template storage named by its digest, instead of pulled by the node. @default - none (the node pulls anonymously) */
  readonly imageCredentials?: pulumi.Input<ImageCredentialsArgs>;
  /** Container template volume id (`local:vztmpl/debian-12-standard_12.7-1_amd64.tar.zst`). Only one of `image`, `template` and `clone` can be given. @default - none @see https://pve.proxmox.com/wiki/Linux_Container#pct_container_images */
  readonly template?: pulumi.Input<string>;
  /** VMID of a template container to clone (full clone). Only one of `image`, `template` and `clone` can be given. @default - none @see https://pve.proxmox.com/pve-docs/api-viewer/#/nodes/{node}/lxc/{vmid}/clone */
  readonly clone?: pulumi.Input<number>;
  /** Node to place the container on; a different pinned node replaces it. @default - the online node with the lowest memory share, counting this `up`'s creates still in flight; for `image`, a node that already holds the image unless it is more than 10 points fuller @see https://pve.proxmox.com/pve-docs/api-viewer/#/cluster/resources */
  readonly node?: pulumi.Input<string>;
  /** Fixed VMID (100-999999999); replacing then deletes the old container first. @default - the first id at or above `/cluster/nextid` that no other create of this `up` has claimed @see https://pve.proxmox.com/pve-docs/api-viewer/#/cluster/nextid */
  readonly vmid?: pulumi.Input<number>;
  /** CPU cores, 1-8192; changed in place. @default 1 @see https://pve.proxmox.com/pve-docs/api-viewer/#/nodes/{node}/lxc (`cores`) */
  readonly cores?: pulumi.Input<number>;
  /** Memory in MiB, at least 16; changed in place. @default 512 @see https://pve.proxmox.com/pve-docs/api-viewer/#/nodes/{node}/lxc (`memory`) */
  readonly memory?: pulumi.Input<number>;
  /** Swap in MiB; changed in place. @default 512 @see https://pve.proxmox.com/pve-docs/api-viewer/#/nodes/{node}/lxc (`swap`) */
  readonly swap?: pulumi.Input<number>;
  /** Root disk size in GiB; growing resizes in place, shrinking replaces. @default 8 @see https://pve.proxmox.com/pve-docs/api-viewer/#/nodes/{node}/lxc/{vmid}/resize */
  readonly diskSize?: pulumi.Input<number>;
  /** Storage for the root disk; a different one replaces. @default - the first storage on the node with `rootdir` content @see https://pve.proxmox.com/pve-docs/api-viewer/#/nodes/{node}/lxc (`rootfs`) */
  readonly storage?: pulumi.Input<string>;
  /** Storage (with `vztmpl` content) that holds pulled images; only with `image`. A shared storage (NFS, CephFS) means an image is pulled once for the whole cluster; a node-local one, once per node. @default - `local`, else the first such storage on the node @see https://pve.proxmox.com/pve-docs/api-viewer/#/nodes/{node}/storage/{storage}/oci-registry-pull */
  readonly templateStorage?: pulumi.Input<string>;
  /** The `eth0` interface. @default { bridge: "vmbr0", ipv4: "dhcp" } */
  readonly network?: pulumi.Input<ContainerNetworkArgs>;
  /** DNS servers; changing them restarts the container. @default - the node's @see https://pve.proxmox.com/pve-docs/api-viewer/#/nodes/{node}/lxc (`nameserver`) */
  readonly nameserver?: pulumi.Input<string | pulumi.Input<string>[]>;
  /** DNS search domains; changing them restarts the container. @default - the node's @see https://pve.proxmox.com/pve-docs/api-viewer/#/nodes/{node}/lxc (`searchdomain`) */
  readonly searchdomain?: pulumi.Input<string | pulumi.Input<string>[]>;
  /** OpenSSH public keys for root; changing them replaces the container (write-only in Proxmox). @default [] @see https://pve.proxmox.com/pve-docs/api-viewer/#/nodes/{node}/lxc (`ssh-public-keys`) */
  readonly sshPublicKeys?: pulumi.Input<pulumi.Input<string>[]>;
  /** Root password, at least 5 characters, kept secret; changing it replaces the container. @default - none (key login only) @see https://pve.proxmox.com/pve-docs/api-viewer/#/nodes/{node}/lxc (`password`) */
  readonly password?: pulumi.Input<string>;
  /** Run as an unprivileged container; changing it replaces. @default true @see https://pve.proxmox.com/wiki/Unprivileged_LXC_containers */
  readonly unprivileged?: pulumi.Input<boolean>;
  /** LXC feature flags; changing them restarts the container. @default { nesting: true } @see https://pve.proxmox.com/pve-docs/api-viewer/#/nodes/{node}/lxc (`features`) */
  readonly features?: pulumi.Input<ContainerFeaturesArgs>;
  /** Environment variables for the init process (merged over an image's own); changing them restarts. Kept secret in state. @default {} @see https://pve.proxmox.com/pve-docs/api-viewer/#/nodes/{node}/lxc (`env`) */
  readonly env?: pulumi.Input<Record<string, pulumi.Input<string>>>;
  /** Command run as init; changing it restarts. @default - the image's entrypoint, or /sbin/init @see https://pve.proxmox.com/pve-docs/api-viewer/#/nodes/{node}/lxc (`entrypoint`) */
  readonly entrypoint?: pulumi.Input<string>;
  /** Proxmox tags, stored lower-cased, sorted, deduplicated; changed in place. @default [] @see https://pve.proxmox.com/pve-docs/api-viewer/#/nodes/{node}/lxc (`tags`) */
  readonly tags?: pulumi.Input<pulumi.Input<string>[]>;
  /** Resource pool to put the container in; changing it replaces. @default - none @see https://pve.proxmox.com/pve-docs/api-viewer/#/nodes/{node}/lxc (`pool`) */
  readonly pool?: pulumi.Input<string>;
  /** Notes shown in the Proxmox UI; changed in place. @default - none @see https://pve.proxmox.com/pve-docs/api-viewer/#/nodes/{node}/lxc (`description`) */
  readonly description?: pulumi.Input<string>;
  /** Start the container when the node boots; changed in place. @default false @see https://pve.proxmox.com/pve-docs/api-viewer/#/nodes/{node}/lxc (`onboot`) */
  readonly onBoot?: pulumi.Input<boolean>;
  /** Keep the container running (true) or stopped (false). @default true @see https://pve.proxmox.com/pve-docs/api-viewer/#/nodes/{node}/lxc/{vmid}/status */
  readonly started?: pulumi.Input<boolean>;
  /** Wait for an address on `eth0` before finishing (when started). @default true @see https://pve.proxmox.com/pve-docs/api-viewer/#/nodes/{node}/lxc/{vmid}/interfaces */
  readonly waitForIp?: pulumi.Input<boolean>;
  /** Seconds to wait per phase. @default { create: 600, start: 120, ip: 120, delete: 300 } */
  readonly timeouts?: pulumi.Input<ContainerTimeoutsArgs>;
  /** Per-resource connection override, stored as a secret. @default - `launchpad:*` stack config, then `PROXMOX_VE_*` */
  readonly connection?: pulumi.Input<ContainerConnectionArgs>;
  /** When `pulumi-launchpad sweep` may remove the container (an `lp-expires-` tag, to the minute); changed in place. @default - never expires */
  readonly expiresAt?: pulumi.Input<string | Date>;
}

function validDate(value: string | Date): Date {
  const time = new Date(value);
  if (Number.isNaN(time.getTime())) throw new Error(`expiresAt: '${String(value)}' is not a date (ISO 8601, e.g. 2026-12-24T18:00:00Z)`);
  return time;
}

/**
 * One LXC container on a Proxmox VE cluster, from an OCI image, a template, or a clone.
 * Every container carries an identity tag, so a create that was interrupted is adopted on the next
 * run instead of leaving a second container behind.
 */
export class LaunchpadContainer extends pulumi.dynamic.Resource {
  /** The container's VMID. */
  declare readonly vmid: pulumi.Output<number>;
  /** The node it runs on now. */
  declare readonly node: pulumi.Output<string>;
  declare readonly hostname: pulumi.Output<string>;
  /** First IPv4 address of `eth0` (without prefix), when known. */
  declare readonly ipv4: pulumi.Output<string | undefined>;
  /** First global IPv6 address of `eth0` (without prefix), when known. */
  declare readonly ipv6: pulumi.Output<string | undefined>;
  /** MAC address of `eth0`. */
  declare readonly mac: pulumi.Output<string | undefined>;
  /** `running` or `stopped`. */
  declare readonly status: pulumi.Output<string>;
  /** The user's tags, normalized (the identity tag is in `identityTag`). */
  declare readonly tags: pulumi.Output<string[]>;
  /** The vztmpl volume id the root filesystem came from. */
  declare readonly ostemplate: pulumi.Output<string | undefined>;
  /** The deployed image's manifest digest: always with `imageCredentials` (the tag's digest at copy time); for a node pull, only when the pulled file's name carries it (Proxmox's pull task does not report it). */
  declare readonly imageDigest: pulumi.Output<string | undefined>;
  /** The Proxmox tag that identifies this container as this resource's. */
  declare readonly identityTag: pulumi.Output<string>;
  /**
   * Read back from its config: `application` when its `entrypoint` is a command other than
   * /sbin/init (an OCI app image: it runs only that command, so no sshd, no SSH deploy), else `system`.
   */
  declare readonly kind: pulumi.Output<"application" | "system">;
  /** What runs as PID 1: the config's `entrypoint` (an image's Entrypoint+Cmd, or yours), or /sbin/init. */
  declare readonly initCommand: pulumi.Output<string>;
  declare readonly schemaVersion: pulumi.Output<number>;

  constructor(name: string, args: LaunchpadContainerArgs, opts?: pulumi.CustomResourceOptions) {
    assertEnvNames(args.env, "env");
    const type = "pulumi-nodejs:dynamic/launchpad:Container";
    const project = pulumi.getProject();
    const stack = pulumi.getStack();
    // A plain promise, not the URN output itself: that output depends on the parent component, and
    // a dependency on a component waits for all its children (a sibling route needs our ipv4: deadlock).
    const identity = pulumi.output(
      new Promise<string>((resolve) => {
        pulumi.createUrn(name, type, opts?.parent).apply((urn) => resolve(identityOf(project, stack, urn)));
      }),
    );
    // The stack (and the expiry) travel as Proxmox tags, so the sweep can judge a container no state tracks.
    const { expiresAt, ...containerArgs } = args;
    // A Date inside an Output is unwrapped into a plain object: hand it on as ISO text.
    const expiresText = expiresAt instanceof Date ? expiresAt.toISOString() : expiresAt;
    const tags = pulumi.all([args.tags ?? [], expiresText]).apply(([tags, expires]) => [
      ...tags,
      ...renderSweepTags({ stack, expiresAt: expires === undefined ? undefined : validDate(expires) }),
    ]);
    const props = {
      ...containerArgs,
      tags,
      identity,
      // Secret inputs keep the same-named outputs secret (the host does not accept secrets).
      password: args.password === undefined ? undefined : pulumi.secret(args.password),
      connection: args.connection === undefined ? undefined : pulumi.secret(args.connection),
      // Env values often carry credentials (database URLs, API keys).
      env: args.env === undefined ? undefined : pulumi.secret(args.env),
      imageCredentials: args.imageCredentials === undefined ? undefined : pulumi.secret(args.imageCredentials),
      vmid: args.vmid,
      node: args.node,
      ipv4: undefined,
      ipv6: undefined,
      mac: undefined,
      status: undefined,
      ostemplate: undefined,
      imageDigest: undefined,
      identityTag: undefined,
      kind: undefined,
      initCommand: undefined,
      schemaVersion: undefined,
    };
    super(
      forwardingProvider("container"),
      name,
      props,
      { ...opts, additionalSecretOutputs: [...(opts?.additionalSecretOutputs ?? []), "password", "connection", "env", "imageCredentials"] },
      "launchpad",
      "Container",
    );
  }
}

