// PreviewEnvironment arguments from stack config (`preview:*`), as the root program and the
// examples read them. Secrets come from their own secret keys and stay secret Outputs.

import * as pulumi from "@pulumi/pulumi";
import { ConfigError } from "../../provider/errors";
import type { PreviewDeployArgs, PreviewDnsArgs, PreviewEnvironmentArgs, PreviewProxyArgs, PreviewServicesArgs } from "./args";

/** The config namespace the root program reads. */
export const CONFIG_NAMESPACE = "preview";

/** JSON-valued keys, each parsed to an object (with a message naming the key when it is not JSON). */
function objectOf<T>(config: pulumi.Config, key: string): T | undefined {
  const raw = config.get(key);
  if (raw === undefined || raw === "") return undefined;
  try {
    const value = JSON.parse(raw);
    if (typeof value !== "object" || value === null || Array.isArray(value)) throw new Error("not an object");
    return value as T;
  } catch {
    throw new ConfigError(`stack config ${config.name}:${key} must be a JSON object, e.g. pulumi config set ${config.name}:${key} '{"...": ...}'`);
  }
}

/**
 * Reads `preview:*` (or another namespace) into PreviewEnvironment arguments:
 * `branch` (default: the stack name), `repository`, `image` | `template` | `clone`, `domain`,
 * `container` (JSON: any LaunchpadContainer setting), `services` (+ secret `accessPasswords`: JSON of
 * basic-auth user name to password), `proxy` (+ secret `proxyPrivateKey`, secret `acmeAccountKey` for
 * `proxy.acme`),
 * `dns` (+ secret `dnsSecret`), `deploy` (+ `revision`, secret `deployPrivateKey`, secret `deployEnv`),
 * `owner`, `githubRunner` (+ secret `githubRunnerToken`), `ttl`.
 */
export function previewArgsFromConfig(namespace: string = CONFIG_NAMESPACE): PreviewEnvironmentArgs {
  const config = new pulumi.Config(namespace);
  const container = objectOf<Record<string, unknown>>(config, "container") ?? {};
  const services = withAccessPasswords(objectOf<PreviewServicesArgs>(config, "services"), config.getSecret("accessPasswords"), `${namespace}:accessPasswords`);

  const proxyJson = objectOf<PreviewProxyArgs>(config, "proxy");
  const proxyPrivateKey = config.getSecret("proxyPrivateKey");
  const acmeAccountKey = config.getSecret("acmeAccountKey");
  const proxy: PreviewProxyArgs | undefined = proxyJson && {
    ...proxyJson,
    ...(proxyPrivateKey ? { privateKey: proxyPrivateKey } : {}),
    ...(proxyJson.acme && acmeAccountKey ? { acme: { ...proxyJson.acme, accountKey: acmeAccountKey } } : {}),
  };

  const dns = withDnsSecret(objectOf<PreviewDnsArgs>(config, "dns"), config.getSecret("dnsSecret"));

  const deployJson = objectOf<PreviewDeployArgs>(config, "deploy");
  const revision = config.get("revision");
  const deployPrivateKey = config.getSecret("deployPrivateKey");
  const deployEnv = config.getSecret("deployEnv");
  const deploy: PreviewDeployArgs | undefined = deployJson && {
    ...deployJson,
    ...(revision ? { revision } : {}),
    ...(deployPrivateKey ? { privateKey: deployPrivateKey } : {}),
    ...(deployEnv
      ? { env: pulumi.secret(pulumi.all([deployJson.env ?? {}, deployEnv]).apply(([own, secretJson]) => ({ ...own, ...parseEnv(secretJson, `${namespace}:deployEnv`) }))) }
      : {}),
  };

  const runnerJson = objectOf<{ url: string; labels?: string[]; version?: string; arch?: "x64" | "arm64" }>(config, "githubRunner");
  const githubRunner = runnerJson && { ...runnerJson, token: config.requireSecret("githubRunnerToken") };

  const clone = config.getNumber("clone");
  return {
    ...container,
    branch: config.get("branch") ?? pulumi.getStack(),
    repository: config.get("repository"),
    image: config.get("image"),
    template: config.get("template"),
    ...(clone !== undefined ? { clone } : {}),
    domain: config.get("domain"),
    services,
    proxy,
    dns,
    deploy,
    githubRunner,
    owner: config.get("owner"),
    ttl: config.get("ttl"),
  } as PreviewEnvironmentArgs;
}

function withDnsSecret(dns: PreviewDnsArgs | undefined, secret: pulumi.Output<string> | undefined): PreviewDnsArgs | undefined {
  if (!dns || dns.kind !== "self-hosted" || !secret) return dns;
  const server = dns.server as unknown as Record<string, unknown>;
  if (server?.kind === "powerdns") return { ...dns, server: { ...server, apiKey: secret } as never };
  if (server?.kind === "rfc2136") return { ...dns, server: { ...server, tsig: { ...(server.tsig as object), secret } } as never };
  return dns;
}

/** Basic-auth users named in `services` (JSON, no passwords) get theirs from a secret key, kept secret. */
function withAccessPasswords(services: PreviewServicesArgs | undefined, secret: pulumi.Output<string> | undefined, key: string): PreviewServicesArgs | undefined {
  const http = services?.http as { access?: { basicAuth?: { users?: { name: string }[] } } } | undefined;
  const users = http?.access?.basicAuth?.users;
  if (!secret || !users || typeof http !== "object") return services;
  const passwords = secret.apply((text) => parseEnv(text, key));
  const withPasswords = users.map((user) => ({ ...user, password: pulumi.secret(passwords.apply((all) => {
    if (typeof all[user.name] !== "string") throw new ConfigError(`stack config ${key} has no password for basic-auth user ${user.name}`);
    return all[user.name];
  })) }));
  return { ...services, http: { ...http, access: { ...http.access, basicAuth: { ...http.access!.basicAuth, users: withPasswords } } } as never };
}

function parseEnv(text: string, key: string): Record<string, string> {
  try {
    const value = JSON.parse(text);
    if (typeof value === "object" && value !== null && !Array.isArray(value)) return value as Record<string, string>;
  } catch { /* reported below */ }
  // The value itself is secret: the message names only the key.
  throw new ConfigError(`stack config ${key} must be a JSON object of variable names to values`);
}
