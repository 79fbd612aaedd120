import * as cloudflare from "@pulumi/cloudflare";
import * as pulumi from "@pulumi/pulumi";
import { publicKeyOf } from "../../provider/deploy/keyPair";
import { ProxmoxPermission } from "../acl";
import { publicDnsRecordArgs, recordTypeFor } from "../cloudflare";
import { LaunchpadContainer, LaunchpadContainerArgs } from "../container";
import { stackName } from "../naming";
import { ceilToHour, parseDuration, renderSweepTags } from "../sweep/tags";
import { ContainerDeployment, DeployKey, JumpHostArgs } from "../deploy";
import { DnsRecord } from "../dnsRecord";
import { AcmeCertificate } from "../acmeCertificate";
import { HttpRouteArgs, ProxyHostArgs, ProxyRoute } from "../proxyRoute";
import type { PreviewEnvironmentArgs, PreviewProxyArgs } from "./args";
import { DEFAULT_CLOUDFLARE_TTL, DEFAULT_DEPLOY_USER, DEFAULT_SSH_PORT, PREVIEW_KEYS, planPreview } from "./plan";
import { DEFAULT_RUNNER_ARCH, DEFAULT_RUNNER_VERSION, RUNNER_TOKEN_ENV, renderRunnerCommands } from "./githubRunner";


/**
 * One branch's preview environment: an LXC container, its public HTTPS URL and TCP/UDP/SSH ports
 * on the nginx proxy host, a DNS record, the deploy step that runs on every new revision, and the
 * owner's Proxmox permission. `pulumi up` creates or updates it; `pulumi destroy` removes all of it.
 */
export class PreviewEnvironment extends pulumi.ComponentResource {
  /** `https://<name>.<domain>`, when `services.http` is given. */
  readonly url: pulumi.Output<string | undefined>;
  /** `ssh -p <port> root@<proxy>` with `services.ssh`, else `ssh root@<ipv4>`. */
  readonly sshCommand: pulumi.Output<string | undefined>;
  readonly ipv4: pulumi.Output<string | undefined>;
  readonly vmid: pulumi.Output<number>;
  readonly node: pulumi.Output<string>;
  readonly hostname: pulumi.Output<string>;
  /** The preview's name (`<owner>-<repo>-<branch>`, a DNS label). */
  readonly previewName: string;
  /** Public ports of the TCP/UDP services (and `ssh`), by service name. */
  readonly ports: pulumi.Output<Record<string, number>>;
  /** The generated deploy key (secret), when no `deploy.privateKey` was given. */
  readonly deployPrivateKey: pulumi.Output<string | undefined>;
  /** The last revision the deploy step ran for. */
  readonly deployedRevision: pulumi.Output<string | undefined>;

  readonly container: LaunchpadContainer;
  readonly routes: Record<string, ProxyRoute>;
  readonly deployment?: ContainerDeployment;
  /** The preview's own certificate, with `proxy.tls: "acme"`. */
  readonly certificate?: AcmeCertificate;

  constructor(name: string, args: PreviewEnvironmentArgs, opts?: pulumi.ComponentResourceOptions) {
    super("launchpad:index:PreviewEnvironment", name, {}, opts);
    // Everything is validated before the first child exists.
    const plan = planPreview(args);
    this.previewName = plan.name;

    const containerArgs = Object.fromEntries(Object.entries(args).filter(([k]) => !(PREVIEW_KEYS as readonly string[]).includes(k))) as Omit<LaunchpadContainerArgs, "hostname">;
    const hostname = args.hostname ?? plan.name;
    const fqdn = args.domain === undefined ? undefined : pulumi.interpolate`${plan.name}.${args.domain}`;
    const proxy = args.proxy;
    const proxySsh: ProxyHostArgs | undefined = proxy && sshPartOf(proxy);
    const publicAddress = proxy ? pulumi.output(proxy.publicAddress ?? proxy.host) : undefined;

    const deployKey = plan.generateKey ? new DeployKey(`${name}-deploy-key`, { comment: `launchpad-${plan.name}` }, { parent: this }) : undefined;
    const deployPrivateKey = plan.deploy ? (deployKey ? deployKey.privateKey : pulumi.secret(pulumi.output(args.deploy!.privateKey!))) : undefined;
    const deployPublicKey = deployKey
      ? deployKey.publicKey
      : deployPrivateKey && pulumi.unsecret(pulumi.all([deployPrivateKey, args.deploy?.passphrase]).apply(([key, passphrase]) => publicKeyOf(key!, passphrase, `launchpad-${plan.name}`)));
    const sshPublicKeys = deployPublicKey
      ? pulumi.all([pulumi.output(args.sshPublicKeys ?? []), deployPublicKey]).apply(([keys, deployKeyLine]) => [...keys, deployKeyLine])
      : args.sshPublicKeys;

    // A branch's preview says so in its tags, with its renewal and expiry when it has a ttl: the sweep reads them.
    const renewedAt = args.ttl === undefined ? undefined : ceilToHour(new Date());
    const lifetime = renderSweepTags({ branch: args.branch === undefined ? undefined : stackName(args.branch), renewedAt });
    const tags = pulumi.output(containerArgs.tags ?? []).apply((own) => [...own, ...lifetime]);
    const expiresAt = renewedAt ? new Date(renewedAt.getTime() + parseDuration(args.ttl!)!).toISOString() : containerArgs.expiresAt;
    const container = new LaunchpadContainer(`${name}-container`, { ...containerArgs, hostname, sshPublicKeys, tags, expiresAt }, { parent: this });
    this.container = container;
    const upstream = container.ipv4.apply((ip) => ip ?? "");

    let dnsRecord: pulumi.Resource | undefined;
    if (plan.dns === "self-hosted" && args.dns?.kind === "self-hosted") {
      dnsRecord = new DnsRecord(`${name}-dns`, {
        zone: args.dns.zone ?? args.domain!,
        name: fqdn!,
        type: publicAddress!.apply(recordTypeFor),
        values: [publicAddress!],
        ttl: args.dns.ttl,
        overwrite: args.dns.overwrite,
        server: args.dns.server,
      }, { parent: this });
    } else if (plan.dns === "cloudflare" && args.dns?.kind === "cloudflare") {
      dnsRecord = new cloudflare.DnsRecord(`${name}-dns`, publicDnsRecordArgs({
        zoneId: args.dns.zoneId,
        hostname: fqdn!,
        target: publicAddress!,
        ttl: args.dns.ttl ?? DEFAULT_CLOUDFLARE_TTL,
        proxied: args.dns.proxied ?? false,
        comment: `pulumi-launchpad preview ${plan.name}`,
      }), { parent: this, ...(args.dns.provider ? { provider: args.dns.provider } : {}) });
    }

    // HTTP-01 asks the public name, so the record goes first; the route then serves the certificate.
    const tls = proxy?.tls;
    if (plan.certificate) {
      const acme = proxy!.acme!;
      this.certificate = new AcmeCertificate(`${name}-cert`, {
        proxy: proxySsh!,
        hostname: fqdn!,
        directoryUrl: acme.directoryUrl,
        directoryCa: acme.directoryCa,
        email: acme.email,
        challenge: acme.challenge,
        dns: acme.dns,
        renewBeforeDays: acme.renewBeforeDays,
        accountKey: acme.accountKey,
      }, { parent: this, dependsOn: dnsRecord ? [dnsRecord] : [] });
    }
    const routeTls = this.certificate ? this.certificate.tls : tls instanceof AcmeCertificate ? tls.tls : tls as HttpRouteArgs["tls"];

    this.routes = {};
    for (const route of plan.routes) {
      const routeName = `${name}-${route.suffix}`;
      this.routes[route.kind === "http" ? "http" : route.service] = route.kind === "http"
        ? new ProxyRoute(routeName, {
          proxy: proxySsh!,
          http: {
            ...httpOptionsOf(args.services!.http),
            hostname: fqdn!,
            target: { host: upstream, port: route.port },
            tls: routeTls!,
          },
        }, { parent: this })
        : new ProxyRoute(routeName, {
          proxy: proxySsh!,
          stream: {
            protocol: route.protocol,
            ...(route.listenPort !== undefined ? { listenPort: route.listenPort } : proxy!.portRange !== undefined ? { portRange: proxy!.portRange } : {}),
            target: { host: upstream, port: route.port },
            // Working only once sshd answers through it; an app image's container is refused before anything is written.
            ...(route.suffix === "ssh"
              ? { ssh: { timeoutSeconds: route.sshTimeoutSeconds, containerKind: container.kind, containerInitCommand: container.initCommand } }
              : {}),
          },
        }, { parent: this });
    }

    if (plan.deploy) {
      const deploy = args.deploy;
      const runner = args.githubRunner;
      const runnerCommands = runner
        ? pulumi.all([runner.url, runner.labels ?? [], runner.version ?? DEFAULT_RUNNER_VERSION, runner.arch ?? DEFAULT_RUNNER_ARCH]).apply(([url, labels, version, arch]) =>
          renderRunnerCommands({ url, name: plan.name, labels, version, arch }))
        : [];
      const commands = pulumi.all([deploy?.commands ?? [], runnerCommands]).apply(([own, forRunner]) => [...own, ...forRunner]);
      const env = pulumi.all([deploy?.env ?? {}, runner ? runner.token : undefined]).apply(([own, token]) =>
        (token === undefined ? { ...own } : { ...own, [RUNNER_TOKEN_ENV]: token }) as Record<string, string>);
      this.deployment = new ContainerDeployment(`${name}-deploy`, {
        host: deploy?.address ?? upstream,
        port: deploy?.port ?? DEFAULT_SSH_PORT,
        user: deploy?.user ?? DEFAULT_DEPLOY_USER,
        privateKey: deployPrivateKey!,
        passphrase: deploy?.passphrase,
        commands,
        revision: deploy?.revision,
        env: pulumi.secret(env),
        vmid: container.vmid,
        jump: plan.deployVia === "proxy" ? jumpOf(proxySsh!) : undefined,
        hostKeyFingerprint: deploy?.hostKeyFingerprint,
        connectTimeoutSeconds: deploy?.connectTimeoutSeconds,
        // An app image's container is refused here, before any SSH, and stays in state as it is.
        containerKind: container.kind,
        containerInitCommand: container.initCommand,
      }, { parent: this });
    }

    if (plan.permission) {
      new ProxmoxPermission(`${name}-owner`, {
        path: pulumi.interpolate`/vms/${container.vmid}`,
        role: "PVEVMUser",
        user: args.owner!,
        connection: args.connection,
      }, { parent: this });
    }

    const sshRoute = this.routes["ssh"];
    this.url = this.routes["http"] ? this.routes["http"].url : pulumi.output(undefined);
    this.sshCommand = sshRoute
      ? pulumi.interpolate`ssh -p ${sshRoute.port} root@${publicAddress!}`
      : container.ipv4.apply((ip) => (ip ? `ssh root@${ip}` : undefined));
    this.ipv4 = container.ipv4;
    this.vmid = container.vmid;
    this.node = container.node;
    this.hostname = container.hostname;
    const streamRoutes = Object.entries(this.routes).filter(([service]) => service !== "http");
    this.ports = pulumi.all(streamRoutes.map(([, route]) => route.port)).apply((ports) =>
      Object.fromEntries(streamRoutes.map(([service], i) => [service, ports[i] as number])));
    this.deployPrivateKey = deployKey ? pulumi.secret(deployKey.privateKey) : pulumi.output(undefined);
    this.deployedRevision = this.deployment ? this.deployment.deployedRevision : pulumi.output(undefined);
    this.registerOutputs({
      url: this.url,
      sshCommand: this.sshCommand,
      ipv4: this.ipv4,
      vmid: this.vmid,
      node: this.node,
      hostname: this.hostname,
      ports: this.ports,
      deployPrivateKey: this.deployPrivateKey,
      deployedRevision: this.deployedRevision,
    });
  }
}

/** A ProxyRoute's `proxy`: the preview-only keys left out. */
function sshPartOf(proxy: PreviewProxyArgs): ProxyHostArgs {
  const { publicAddress: _publicAddress, tls: _tls, acme: _acme, portRange: _portRange, ...ssh } = proxy;
  return ssh;
}

/** The proxy host as the deploy step's jump host (its SSH settings only). */
function jumpOf(proxy: ProxyHostArgs): JumpHostArgs {
  return {
    host: proxy.host,
    port: proxy.port,
    user: proxy.user,
    privateKey: proxy.privateKey,
    passphrase: proxy.passphrase,
    agent: proxy.agent,
    hostKeyFingerprint: proxy.hostKeyFingerprint,
  };
}

function httpOptionsOf(http: NonNullable<PreviewEnvironmentArgs["services"]>["http"]) {
  if (typeof http !== "object" || http === null || pulumi.Output.isInstance(http) || http instanceof Promise || !("port" in http)) return {};
  const { port: _port, ...options } = http;
  return options;
}
