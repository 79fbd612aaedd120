import type * as cloudflare from "@pulumi/cloudflare";
import type * as pulumi from "@pulumi/pulumi";
import type { LaunchpadContainerArgs } from "../container";
import type { DnsRecordArgs } from "../dnsRecord";
import type { AcmeCertificate, AcmeDnsArgs } from "../acmeCertificate";
import type { HttpRouteArgs, ProxyHostArgs, StreamRouteArgs } from "../proxyRoute";

/** The public HTTPS route: `https://<name>.<domain>` -> the container's `port`. */
export interface HttpServiceArgs extends Pick<HttpRouteArgs, "websocket" | "maxBodySize" | "headers" | "responseHeaders" | "redirectHttp" | "access"> {
  /** Port the app listens on inside the container, 1-65535. */
  readonly port: pulumi.Input<number>;
}

/** One TCP or UDP service: a public port on the proxy host -> the container's `port`. */
export interface StreamServiceArgs {
  /** Port inside the container, 1-65535. */
  readonly port: pulumi.Input<number>;
  /** A fixed public port. @default - the lowest free port in `proxy.portRange` */
  readonly listenPort?: pulumi.Input<number>;
}

/** What the preview exposes through the proxy host. */
export interface PreviewServicesArgs {
  /** Internal port (or settings) for the public `https://<name>.<domain>`. Needs `domain` and `proxy`. @default - no HTTP route */
  readonly http?: pulumi.Input<number> | HttpServiceArgs;
  /** TCP services by name (`{ postgres: 5432 }`): each gets an allocated public port. Names are `[a-z0-9-]`, and name the route resources, so keep them stable. @default {} */
  readonly tcp?: Record<string, pulumi.Input<number> | StreamServiceArgs>;
  /** UDP services by name, as `tcp`. @default {} */
  readonly udp?: Record<string, pulumi.Input<number> | StreamServiceArgs>;
  /**
   * A public TCP port to the container's sshd (port 22): `sshCommand` then reads `ssh -p <port> root@<proxy>`.
   * The route counts as created once an SSH server answers through it (`timeoutSeconds`, 0: no wait).
   * An application container (an OCI app image, `kind: "application"`) has no sshd: asking for this fails.
   * @default false
   */
  readonly ssh?: boolean | { readonly listenPort?: pulumi.Input<number>; readonly timeoutSeconds?: pulumi.Input<number> };
}

/** The nginx proxy host: how to reach it over SSH (as a ProxyRoute's `proxy`), plus what the public sees. */
export interface PreviewProxyArgs extends ProxyHostArgs {
  /** The address users reach the proxy at: the DNS record's target and `sshCommand`'s host. @default - `host` */
  readonly publicAddress?: pulumi.Input<string>;
  /**
   * Required with `services.http`. One of:
   * - certificate and key paths on the proxy host (a wildcard certificate for `*.<domain>` fits);
   * - `"acme"`: a certificate for `<name>.<domain>` issued with `acme` (an {@link AcmeCertificate} child);
   * - an {@link AcmeCertificate} (e.g. `*.<domain>` by DNS-01) shared by every preview under the domain;
   * - `"none"` for plain HTTP.
   */
  readonly tls?: HttpRouteArgs["tls"] | "acme" | AcmeCertificate;
  /** The ACME server for `tls: "acme"`. */
  readonly acme?: PreviewAcmeArgs;
  /** Where TCP/UDP public ports are allocated. @default {from: 2000, to: 65535} */
  readonly portRange?: StreamRouteArgs["portRange"];
}

/** How a preview's own certificate is issued (`proxy.tls: "acme"`). */
export interface PreviewAcmeArgs {
  /** The ACME directory URL, e.g. `https://acme-v02.api.letsencrypt.org/directory`. */
  readonly directoryUrl: pulumi.Input<string>;
  /** Contact for the ACME account. */
  readonly email: pulumi.Input<string>;
  /** PEM CA of a private ACME server's HTTPS certificate. @default - the system's CAs */
  readonly directoryCa?: pulumi.Input<string>;
  /** @default "http-01" (nginx answers; the preview's DNS record must exist, and it is created first) */
  readonly challenge?: pulumi.Input<"http-01" | "dns-01">;
  /** DNS-01 record server. Required with `challenge: "dns-01"`. */
  readonly dns?: pulumi.Input<AcmeDnsArgs>;
  /** @default 30 */
  readonly renewBeforeDays?: pulumi.Input<number>;
  /** An ACME account key to share across previews (secret). @default - one per preview, kept secret in state */
  readonly accountKey?: pulumi.Input<string>;
}

/** No record: a wildcard `*.<domain>` already points at the proxy host. */
export interface NoDnsArgs {
  readonly kind: "none";
}

/** A record on a self-hosted DNS server (PowerDNS API or RFC 2136), through {@link DnsRecord}. */
export interface SelfHostedDnsArgs extends Pick<DnsRecordArgs, "server" | "ttl" | "overwrite"> {
  readonly kind: "self-hosted";
  /** The zone holding `<name>.<domain>`. @default - `domain` */
  readonly zone?: pulumi.Input<string>;
}

/** A record at Cloudflare, through `@pulumi/cloudflare`'s own `DnsRecord` (its provider config holds the API token). */
export interface CloudflareDnsArgs {
  readonly kind: "cloudflare";
  /** The Cloudflare zone id. */
  readonly zoneId: pulumi.Input<string>;
  /** Route through Cloudflare's proxy (HTTP only; SSH and TCP ports need it off). @default false */
  readonly proxied?: pulumi.Input<boolean>;
  /** TTL in seconds, 60-86400; proxied records always use 1 ("automatic"). @default 300 */
  readonly ttl?: pulumi.Input<number>;
  /** An explicit Cloudflare provider (another account or token). @default - the default provider (`cloudflare:apiToken`) */
  readonly provider?: cloudflare.Provider;
}

export type PreviewDnsArgs = NoDnsArgs | SelfHostedDnsArgs | CloudflareDnsArgs;

/**
 * Commands run over SSH inside the container after it is created, and again whenever `revision`
 * changes, without replacing the container.
 */
export interface PreviewDeployArgs {
  /** Shell command lines, run in order as `user` in its home directory. */
  readonly commands: pulumi.Input<pulumi.Input<string>[]>;
  /** Changes with the code (the commit SHA): a new value runs the commands again. @default - none */
  readonly revision?: pulumi.Input<string>;
  /** Variables exported to every command; kept secret. @default {} */
  readonly env?: pulumi.Input<Record<string, pulumi.Input<string>>>;
  /** A deploy private key (OpenSSH or PEM; pass it as a secret): its public key is added to the container's `sshPublicKeys`. @default - an ed25519 key pair is generated once and kept, secret, in state (`deployPrivateKey` output) */
  readonly privateKey?: pulumi.Input<string>;
  /** Passphrase of `privateKey`. @default - none */
  readonly passphrase?: pulumi.Input<string>;
  /** User to log in as. @default "root" */
  readonly user?: pulumi.Input<string>;
  /** `proxy`: connect through the proxy host's SSH (it reaches the containers' network; needs TCP forwarding for its user); `direct`: connect to the container's address. @default "proxy" when `proxy` is given, else "direct" */
  readonly via?: "proxy" | "direct";
  /** Connect here instead of the container's `ipv4` (a NAT address, a test double). @default - the container's `ipv4` */
  readonly address?: pulumi.Input<string>;
  /** SSH port at `address`. @default 22 */
  readonly port?: pulumi.Input<number>;
  /** Pin the container's host key. @default - trusted on first use, then pinned in state */
  readonly hostKeyFingerprint?: pulumi.Input<string>;
  /** How long to wait for sshd after the container starts. @default 120 */
  readonly connectTimeoutSeconds?: pulumi.Input<number>;
}

/**
 * Launchpad's second pathway: the container registers itself as an ephemeral GitHub Actions runner
 * for its branch, so the branch's jobs run inside its own preview. See the README for the security
 * trade-off (the container can run the repository's workflows, with their secrets).
 */
export interface GithubRunnerArgs {
  /** The repository (or organisation) URL the runner joins, e.g. `https://github.com/acme/shop`. */
  readonly url: pulumi.Input<string>;
  /** A runner registration token (valid one hour; `POST /repos/{owner}/{repo}/actions/runners/registration-token`). Pass it as a secret; it never lands in state in plain text. */
  readonly token: pulumi.Input<string>;
  /** Extra runner labels; the preview's name is always added, so a job can target its branch with `runs-on: [self-hosted, <name>]`. @default [] */
  readonly labels?: pulumi.Input<pulumi.Input<string>[]>;
  /** The actions/runner release to install. @default "2.333.1" */
  readonly version?: pulumi.Input<string>;
  /** Runner architecture in the release's file name. @default "x64" */
  readonly arch?: pulumi.Input<"x64" | "arm64">;
}

/**
 * Arguments of a {@link PreviewEnvironment}. The container settings are LaunchpadContainer's
 * (exactly one of `image`, `template` and `clone`); its `hostname` defaults to the preview's name.
 */
export interface PreviewEnvironmentArgs extends Omit<LaunchpadContainerArgs, "hostname"> {
  /** The git branch (`feature/login`, `refs/heads/feature/login`); with `repository` it gives the name `<owner>-<repo>-<branch>`. Only one of `branch` and `name` can be given. */
  readonly branch?: string;
  /** The preview's name as it is (made a DNS label). Only one of `branch` and `name` can be given. */
  readonly name?: string;
  /** `owner/repo`; part of the name derived from `branch`. @default - none (the name is the branch's) */
  readonly repository?: string;
  /** The domain previews live under: the URL is `https://<name>.<domain>`. Required with `services.http` or a DNS record. */
  readonly domain?: pulumi.Input<string>;
  /** Container host name. @default - the preview's name */
  readonly hostname?: pulumi.Input<string>;
  /** What is published through the proxy host. @default {} (nothing) */
  readonly services?: PreviewServicesArgs;
  /** The nginx proxy host. Required with any service. */
  readonly proxy?: PreviewProxyArgs;
  /** The public DNS record `<name>.<domain>` -> `proxy.publicAddress`. @default {kind: "none"} */
  readonly dns?: PreviewDnsArgs;
  /** The fast update path: commands run on create and whenever `deploy.revision` changes. @default - none */
  readonly deploy?: PreviewDeployArgs;
  /** Register the container as an ephemeral GitHub Actions runner for its branch (runs as a deploy step). @default - none */
  readonly githubRunner?: GithubRunnerArgs;
  /** A Proxmox user (`alice@pve`) who gets `PVEVMUser` on the container (`/vms/<vmid>`); removed on destroy. @default - none */
  readonly owner?: pulumi.Input<string>;
  /**
   * How long the preview lives without an `up` (`90m`, `36h`, `7d`, `2w`): every `up` renews it,
   * and `pulumi-launchpad sweep` removes a preview past its expiry. Renewal is rounded up to the
   * hour, so an `up` within the same hour writes no tag. @default - never expires
   */
  readonly ttl?: string;
}
