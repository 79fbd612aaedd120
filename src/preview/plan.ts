// What a PreviewEnvironment creates for given arguments: pure, creates nothing, tested directly.
// Child names are the component's name plus a fixed suffix (service names are keys the user
// chose, never values that change between runs).

import * as pulumi from "@pulumi/pulumi";
import { z } from "zod";
import { FieldProblem, ValidationError } from "../../provider/errors";
import { parseDuration } from "../sweep/tags";
import { UNKNOWN_KEY_REASON, dnsName, fieldPath, hostAddress, problemsOf, semverVersion } from "../../provider/check";
import { parseInputs as parseContainerInputs } from "../../provider/container/schema";
import { DeploymentInputsSchema } from "../../provider/deploy/schema";
import { DnsServer } from "../../provider/dns/schema";
import { AcmeCertificateInputsSchema } from "../../provider/acme/schema";
import { HttpRouteSchema, ProxyHostSchema, StreamRouteSchema } from "../../provider/proxy/schema";
import { UNKNOWN } from "../../provider/hostValues";
import { previewName, toDnsLabel } from "../naming";
import type { PreviewEnvironmentArgs } from "./args";

/** Defaults, resolved once. */
export const DEFAULT_DNS_KIND = "none";
export const DEFAULT_DEPLOY_USER = "root";
export const DEFAULT_SSH_PORT = 22;
export const DEFAULT_CLOUDFLARE_TTL = 300;
export const SSH_SERVICE_PORT = 22;

const SERVICE_NAME = /^[a-z0-9]([a-z0-9-]{0,30}[a-z0-9])?$/;
const REPOSITORY = /^[A-Za-z0-9_.-]+\/[A-Za-z0-9_.-]+$/;
const PROXMOX_USER = /^[^\s:/@]{1,64}@[A-Za-z][A-Za-z0-9.\-_]{1,31}$/;

export type PlannedRoute =
  | { suffix: "http"; kind: "http"; port: pulumi.Input<number> }
  | {
    suffix: string; kind: "stream"; protocol: "tcp" | "udp"; service: string; port: pulumi.Input<number>; listenPort?: pulumi.Input<number>;
    /** The SSH route only: how long it waits for an SSH server to answer through it. */
    sshTimeoutSeconds?: pulumi.Input<number>;
  };

export interface PreviewPlan {
  /** The preview's name: hostname and the first label of its public name. */
  name: string;
  routes: PlannedRoute[];
  dns: "none" | "self-hosted" | "cloudflare";
  /** A deploy step exists (deploy commands, or the GitHub runner's). */
  deploy: boolean;
  /** No deploy key was given: one is generated (and kept in state). */
  generateKey: boolean;
  /** How the deploy step connects. */
  deployVia: "proxy" | "direct";
  /** `owner` gets PVEVMUser on the container. */
  permission: boolean;
  /** `proxy.tls: "acme"`: an AcmeCertificate child for `<name>.<domain>`. */
  certificate: boolean;
  /** Child name suffixes in creation order. */
  children: string[];
}

const isPlain = <T>(value: pulumi.Input<T> | undefined): value is T =>
  value !== undefined && !pulumi.Output.isInstance(value) && !(value instanceof Promise);

function checkPort(problems: FieldProblem[], property: string, value: pulumi.Input<number> | undefined): void {
  if (!isPlain(value)) return;
  if (!Number.isInteger(value) || value < 1 || value > 65535) problems.push({ property, reason: "must be a port number, 1-65535" });
}

function streamServices(services: PreviewEnvironmentArgs["services"], protocol: "tcp" | "udp") {
  return Object.entries(services?.[protocol] ?? {}).map(([service, spec]) =>
    typeof spec === "object" && spec !== null && !pulumi.Output.isInstance(spec) && !(spec instanceof Promise) && "port" in spec
      ? { service, port: spec.port, listenPort: spec.listenPort }
      : { service, port: spec as pulumi.Input<number>, listenPort: undefined });
}

/** The component's own keys; every other argument is the container's. */
export const PREVIEW_KEYS = ["branch", "name", "repository", "domain", "hostname", "services", "proxy", "dns", "deploy", "githubRunner", "owner", "ttl"] as const;
const DEPLOY_KEYS = ["commands", "revision", "env", "privateKey", "passphrase", "user", "via", "address", "port", "hostKeyFingerprint", "connectTimeoutSeconds"];
const CLOUDFLARE_ZONE_ID = /^[0-9a-f]{32}$/;

/** Plain values as they are; an Output or a Promise (not known while planning) as the host's unknown marker. */
function knownParts(value: unknown): unknown {
  if (pulumi.Output.isInstance(value) || value instanceof Promise) return UNKNOWN;
  if (Array.isArray(value)) return value.map(knownParts);
  if (value && typeof value === "object" && [Object.prototype, null].includes(Object.getPrototypeOf(value))) {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, knownParts(v)]));
  }
  return value;
}

const RUNNER_KEYS = ["url", "token", "labels", "version", "arch"];
const DNS_KEYS = { none: ["kind"], "self-hosted": ["kind", "server", "zone", "ttl", "overwrite"], cloudflare: ["kind", "zoneId", "proxied", "ttl", "provider"] } as const;

const isPlainObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === "object" && value !== null && [Object.prototype, null].includes(Object.getPrototypeOf(value));

/** The one wording for a key the component does not know (provider/check.ts). */
function unknownKeys(value: object, known: readonly string[], prefix: string[]): FieldProblem[] {
  return Object.keys(value).filter((key) => !known.includes(key)).map((key) => ({ property: fieldPath([...prefix, key]), reason: UNKNOWN_KEY_REASON }));
}

/** Problems of `value` (its known parts) against a provider schema, named under `prefix`. */
function schemaProblems(schema: z.ZodType, value: unknown, prefix: string[]): FieldProblem[] {
  const known = knownParts(value);
  const parsed = schema.safeParse(known);
  return parsed.success ? [] : problemsOf(parsed.error.issues, known, prefix);
}

/**
 * Every argument checked with the schema its child will use, so that nothing is created when any
 * child would refuse its inputs (a bad domain must not leave a started container behind).
 */
function childArgumentProblems(args: PreviewEnvironmentArgs): FieldProblem[] {
  const problems: FieldProblem[] = [];
  const containerArgs = Object.fromEntries(Object.entries(args).filter(([k]) => !(PREVIEW_KEYS as readonly string[]).includes(k)));
  const container = parseContainerInputs(knownParts({ ...containerArgs, hostname: args.hostname ?? "placeholder" }) as Record<string, unknown>);
  // The plan names the one-source rule itself.
  problems.push(...container.failures.filter((f) => !f.reason.includes("`image`, `template` and `clone`")));
  if (args.domain !== undefined) problems.push(...schemaProblems(dnsName, args.domain, ["domain"]));
  const proxy = args.proxy;
  if (proxy) {
    const { publicAddress, tls, portRange, acme, ...ssh } = proxy;
    problems.push(...schemaProblems(ProxyHostSchema, ssh, ["proxy"]));
    // The certificate child's own schema, less what the preview fills in (proxy, hostname).
    if (acme !== undefined) problems.push(...schemaProblems(AcmeCertificateInputsSchema.omit({ proxy: true, hostname: true }), acme, ["proxy", "acme"]));
    if (publicAddress !== undefined) problems.push(...schemaProblems(hostAddress, publicAddress, ["proxy", "publicAddress"]));
    // "acme" and a shared AcmeCertificate are the component's own; paths and "none" are the route's.
    if (tls !== undefined && tls !== "acme" && !pulumi.Resource.isInstance(tls)) problems.push(...schemaProblems(HttpRouteSchema.shape.tls, tls, ["proxy", "tls"]));
    if (portRange !== undefined) problems.push(...schemaProblems(StreamRouteSchema.shape.portRange, portRange, ["proxy", "portRange"]));
  }
  const http = args.services?.http;
  if (http && typeof http === "object" && !pulumi.Output.isInstance(http) && !(http instanceof Promise)) {
    const { port: _port, ...options } = http as unknown as Record<string, unknown>;
    problems.push(...schemaProblems(HttpRouteSchema.pick({ websocket: true, maxBodySize: true, headers: true, responseHeaders: true, redirectHttp: true, access: true }).strict(), options, ["services", "http"]));
  }
  const services = args.services;
  if (services && typeof services === "object") {
    problems.push(...unknownKeys(services, ["http", "tcp", "udp", "ssh"], ["services"]));
    if (services.ssh && typeof services.ssh === "object") problems.push(...unknownKeys(services.ssh, ["listenPort", "timeoutSeconds"], ["services", "ssh"]));
    for (const protocol of ["tcp", "udp"] as const) {
      for (const [service, spec] of Object.entries(services[protocol] ?? {})) {
        if (isPlainObject(spec)) problems.push(...unknownKeys(spec, ["port", "listenPort"], ["services", protocol, service]));
      }
    }
  }
  const dns = args.dns;
  if (dns && typeof dns === "object") {
    const keys = DNS_KEYS[dns.kind as keyof typeof DNS_KEYS];
    if (keys) problems.push(...unknownKeys(dns, keys, ["dns"]));
  }
  if (dns?.kind === "self-hosted") {
    if (dns.overwrite !== undefined) problems.push(...schemaProblems(z.boolean(), dns.overwrite, ["dns", "overwrite"]));
    if (dns.server !== undefined) problems.push(...schemaProblems(DnsServer, dns.server, ["dns", "server"]));
    if (dns.zone !== undefined) problems.push(...schemaProblems(dnsName, dns.zone, ["dns", "zone"]));
    if (dns.ttl !== undefined) problems.push(...schemaProblems(z.number().int("must be a whole number").min(1, "must be at least 1").max(2_147_483_647, "must be at most 2147483647"), dns.ttl, ["dns", "ttl"]));
  } else if (dns?.kind === "cloudflare") {
    if (dns.proxied !== undefined) problems.push(...schemaProblems(z.boolean(), dns.proxied, ["dns", "proxied"]));
    if (dns.provider !== undefined && !pulumi.ProviderResource.isInstance(dns.provider)) problems.push({ property: "dns.provider", reason: "must be a cloudflare.Provider" });
    if (dns.zoneId !== undefined) problems.push(...schemaProblems(z.string().regex(CLOUDFLARE_ZONE_ID, "must be a Cloudflare zone id: 32 lowercase hex digits"), dns.zoneId, ["dns", "zoneId"]));
    if (dns.ttl !== undefined) problems.push(...schemaProblems(z.number().int("must be a whole number").min(60, "must be 60-86400").max(86400, "must be 60-86400"), dns.ttl, ["dns", "ttl"]));
  }
  const deploy = args.deploy;
  if (deploy && typeof deploy === "object") {
    problems.push(...unknownKeys(deploy, DEPLOY_KEYS, ["deploy"]));
    const asDeployment = {
      host: deploy.address ?? UNKNOWN, port: deploy.port, user: deploy.user, privateKey: deploy.privateKey ?? UNKNOWN, passphrase: deploy.passphrase,
      commands: deploy.commands, revision: deploy.revision, env: deploy.env, hostKeyFingerprint: deploy.hostKeyFingerprint, connectTimeoutSeconds: deploy.connectTimeoutSeconds,
    };
    const defined = Object.fromEntries(Object.entries(asDeployment).filter(([, v]) => v !== undefined));
    problems.push(...schemaProblems(DeploymentInputsSchema, defined, []).map((p) => ({
      ...p, property: `deploy.${p.property.replace(/^host\b/, "address")}`,
    })));
  }
  const runner = args.githubRunner;
  if (runner && typeof runner === "object") {
    problems.push(...unknownKeys(runner, RUNNER_KEYS, ["githubRunner"]));
    // It lands in the runner's environment and on its config command line: one token, no blanks.
    if (isPlain(runner.token)) problems.push(...schemaProblems(z.string().max(1024, "must be at most 1024 characters").regex(/^[\x21-\x7e]+$/, "must be a registration token: printable characters, no blanks"), runner.token, ["githubRunner", "token"]));

    if (runner.version !== undefined) problems.push(...schemaProblems(semverVersion, runner.version, ["githubRunner", "version"]));
    if (runner.arch !== undefined) problems.push(...schemaProblems(z.enum(["x64", "arm64"]), runner.arch, ["githubRunner", "arch"]));
    if (runner.labels !== undefined) problems.push(...schemaProblems(z.array(z.string().regex(/^[A-Za-z0-9_.-]{1,64}$/, "must be 1-64 of letters, digits, '_', '.', '-'")), runner.labels, ["githubRunner", "labels"]));
  }
  return problems;
}

/**
 * Validates the arguments (every problem at once, each naming its field; values not known yet are
 * skipped) and lays out the children. Throws ValidationError before anything is created.
 */
export function planPreview(args: PreviewEnvironmentArgs): PreviewPlan {
  const problems: FieldProblem[] = [];
  const given = (v: unknown) => v !== undefined && v !== null;

  if (given(args.branch) && given(args.name)) problems.push({ property: "branch", reason: "Only one of `branch` and `name` can be given" });
  if (!given(args.branch) && !given(args.name)) problems.push({ property: "branch", reason: "One of `branch` and `name` is required" });
  if (given(args.branch) && typeof args.branch !== "string") problems.push({ property: "branch", reason: "must be a string" });
  if (given(args.name) && typeof args.name !== "string") problems.push({ property: "name", reason: "must be a string" });
  if (given(args.ttl) && (typeof args.ttl !== "string" || parseDuration(args.ttl) === undefined)) problems.push({ property: "ttl", reason: "must be a duration like 90m, 36h, 7d or 2w" });
  if (given(args.repository) && (typeof args.repository !== "string" || !REPOSITORY.test(args.repository))) {
    problems.push({ property: "repository", reason: "must read `owner/repo`" });
  }

  const sources = (["image", "template", "clone"] as const).filter((k) => given(args[k]));
  if (sources.length > 1) problems.push({ property: sources[1], reason: "Only one of `image`, `template` and `clone` can be given" });
  if (sources.length === 0) problems.push({ property: "image", reason: "One of `image`, `template` and `clone` is required" });

  const services = args.services ?? {};
  const routes: PlannedRoute[] = [];
  if (given(services.http)) {
    const http = services.http!;
    const port = typeof http === "object" && !pulumi.Output.isInstance(http) && !(http instanceof Promise) && "port" in http ? http.port : (http as pulumi.Input<number>);
    checkPort(problems, port === http ? "services.http" : "services.http.port", port);
    routes.push({ suffix: "http", kind: "http", port });
    if (!given(args.domain)) problems.push({ property: "domain", reason: "is required with `services.http`" });
    if (args.proxy && !given(args.proxy.tls)) problems.push({ property: "proxy.tls", reason: "is required with `services.http` (certificate paths on the proxy host, \"acme\", an AcmeCertificate, or \"none\")" });
    if (args.proxy?.tls === "acme") {
      const acme = args.proxy.acme;
      if (!acme) problems.push({ property: "proxy.acme", reason: "is required with `proxy.tls` \"acme\" (directoryUrl and email)" });
      else {
        if (!given(acme.directoryUrl)) problems.push({ property: "proxy.acme.directoryUrl", reason: "is required" });
        if (!given(acme.email)) problems.push({ property: "proxy.acme.email", reason: "is required" });
      }
    }
  }
  for (const protocol of ["tcp", "udp"] as const) {
    for (const { service, port, listenPort } of streamServices(services, protocol)) {
      if (!SERVICE_NAME.test(service)) problems.push({ property: `services.${protocol}.${service}`, reason: "service names are 1-32 of [a-z0-9-], no hyphen at either end" });
      const spec = services[protocol]?.[service];
      checkPort(problems, isPlainObject(spec) ? `services.${protocol}.${service}.port` : `services.${protocol}.${service}`, port);
      checkPort(problems, `services.${protocol}.${service}.listenPort`, listenPort);
      routes.push({ suffix: `${protocol}-${service}`, kind: "stream", protocol, service, port, listenPort });
    }
  }
  if (services.ssh) {
    if (services.tcp && "ssh" in services.tcp) problems.push({ property: "services.tcp.ssh", reason: "Only one of `services.ssh` and `services.tcp.ssh` can be given" });
    const listenPort = typeof services.ssh === "object" ? services.ssh.listenPort : undefined;
    const sshTimeoutSeconds = typeof services.ssh === "object" ? services.ssh.timeoutSeconds : undefined;
    checkPort(problems, "services.ssh.listenPort", listenPort);
    if (isPlain(sshTimeoutSeconds) && (!Number.isInteger(sshTimeoutSeconds) || sshTimeoutSeconds < 0 || sshTimeoutSeconds > 3600)) {
      problems.push({ property: "services.ssh.timeoutSeconds", reason: "must be a whole number of seconds, 0-3600" });
    }
    routes.push({ suffix: "ssh", kind: "stream", protocol: "tcp", service: "ssh", port: SSH_SERVICE_PORT, listenPort, sshTimeoutSeconds });
  }
  if (args.proxy?.acme && args.proxy.tls !== "acme") problems.push({ property: "proxy.acme", reason: "is only used with `proxy.tls` \"acme\"" });
  if (routes.length > 0) {
    if (!args.proxy) problems.push({ property: "proxy", reason: "is required with `services`" });
    if (args.waitForIp === false) problems.push({ property: "waitForIp", reason: "cannot be false with `services`: routes need the container's address" });
    if (args.started === false) problems.push({ property: "started", reason: "cannot be false with `services`: routes need a running container" });
  }

  const dns = args.dns?.kind ?? DEFAULT_DNS_KIND;
  if (!["none", "self-hosted", "cloudflare"].includes(dns)) problems.push({ property: "dns.kind", reason: "must be one of none, self-hosted, cloudflare" });
  if (dns !== "none") {
    if (!given(args.domain)) problems.push({ property: "domain", reason: `is required with \`dns.kind\` ${dns}` });
    if (!args.proxy) problems.push({ property: "proxy", reason: "is required with a DNS record (the record points at `proxy.publicAddress`)" });
  }
  if (args.dns?.kind === "self-hosted" && !given(args.dns.server)) problems.push({ property: "dns.server", reason: "is required with `dns.kind` self-hosted" });
  if (args.dns?.kind === "cloudflare" && !given(args.dns.zoneId)) problems.push({ property: "dns.zoneId", reason: "is required with `dns.kind` cloudflare" });

  const deploy = args.deploy;
  if (deploy) {
    if (isPlain(deploy.commands) && Array.isArray(deploy.commands) && deploy.commands.length === 0) problems.push({ property: "deploy.commands", reason: "must hold at least one command" });
    if (deploy.via === "proxy" && !args.proxy) problems.push({ property: "deploy.via", reason: "is `proxy`, but no `proxy` is given" });
    if (deploy.via !== undefined && deploy.via !== "proxy" && deploy.via !== "direct") problems.push({ property: "deploy.via", reason: "must be `proxy` or `direct`" });
    if (given(deploy.passphrase) && !given(deploy.privateKey)) problems.push({ property: "deploy.passphrase", reason: "is only used with `deploy.privateKey`" });
    checkPort(problems, "deploy.port", deploy.port);
  }
  if (args.githubRunner) {
    if (!given(args.githubRunner.url)) problems.push({ property: "githubRunner.url", reason: "is required" });
    if (!given(args.githubRunner.token)) problems.push({ property: "githubRunner.token", reason: "is required" });
    if (isPlain(args.githubRunner.url) && !/^https:\/\/[^\s'"]+$/.test(args.githubRunner.url)) problems.push({ property: "githubRunner.url", reason: "must be an https URL such as https://github.com/acme/shop" });
  }
  if (isPlain(args.owner) && !PROXMOX_USER.test(args.owner)) problems.push({ property: "owner", reason: "must be a Proxmox user id such as alice@pve" });
  if ((deploy || args.githubRunner) && args.waitForIp === false && !given(deploy?.address)) {
    problems.push({ property: "waitForIp", reason: "cannot be false with a deploy step unless `deploy.address` is given" });
  }

  const seen = new Set(problems.map((p) => `${p.property}\n${p.reason}`));
  for (const p of childArgumentProblems(args)) if (!seen.has(`${p.property}\n${p.reason}`)) { seen.add(`${p.property}\n${p.reason}`); problems.push(p); }
  if (problems.length) throw new ValidationError(problems);

  const name = args.name !== undefined ? toDnsLabel(args.name) : previewNameOf(args.repository, args.branch!);
  const hasDeploy = deploy !== undefined || args.githubRunner !== undefined;
  const generateKey = hasDeploy && !given(deploy?.privateKey);
  const certificate = given(services.http) && args.proxy?.tls === "acme";
  const children = [
    ...(generateKey ? ["deploy-key"] : []),
    "container",
    ...(dns !== "none" ? ["dns"] : []),
    ...(certificate ? ["cert"] : []),
    ...routes.map((r) => r.suffix),
    ...(hasDeploy ? ["deploy"] : []),
    ...(given(args.owner) ? ["owner"] : []),
  ];
  return {
    name,
    routes,
    dns: dns as PreviewPlan["dns"],
    deploy: hasDeploy,
    generateKey,
    deployVia: deploy?.via ?? (args.proxy ? "proxy" : "direct"),
    permission: given(args.owner),
    certificate,
    children,
  };
}

function previewNameOf(repository: string | undefined, branch: string): string {
  if (!repository) return previewName({ repository: "", branch });
  const [owner, repo] = repository.split("/");
  return previewName({ owner, repository: repo, branch });
}
