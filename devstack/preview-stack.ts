// Everything the root program's preview needs on one machine, started for the demo and for the LXC
// e2e test alike: the sandbox (a Proxmox VE API; real LXC containers when run as root with LXC), a
// real nginx proxy host reached over a real OpenSSH server, a real PowerDNS, and with `tls: "acme"` a
// real ACME server (Pebble) validating through them. Returns the stack config that points the root
// program (index.ts) at them, and handles to look at what is left.
import { execFileSync, spawnSync } from "child_process";
import * as crypto from "crypto";
import * as fs from "fs";
import * as https from "https";
import * as tls from "tls";
import * as path from "path";
import * as semver from "semver";
import YAML from "yaml";
import { generateDeployKey } from "../provider/deploy/keyPair";
import { shellQuote } from "../provider/ssh";
import { Registry, startRegistry } from "./registry";
import { appImage, systemImage } from "./images";
import { Sandbox, startSandbox } from "../sandbox";
import { LxcBackend, createLxcBackend, lxcAvailability } from "../sandbox/lxc";
import { findBinary, requireBinary } from "./binaries";
import { Run, cleanStaleRuns } from "./leftovers";
import { TestNginx, startNginx } from "./nginx";
import { PowerDnsServer } from "./pdns";
import { startPebble, type TestPebble } from "./pebble";
import { sshRun } from "./ssh";
import { TestSshd, startSshd } from "./sshd";
import { proxyHost } from "./proxy-host";

export const REPO_ROOT = path.resolve(__dirname, "..");
/** The domain previews live under: the test nginx's certificate is for `*.preview.test`. */
export const DOMAIN = "preview.test";
/** The port the sample app listens on inside the container. */
export const APP_PORT = 3000;
/** The sample app the deploy step installs: the demo's own (demo/app), deployed by tests too. */
const APP_SOURCE = path.join(REPO_ROOT, "demo", "app", "server.js");

export type Progress = (line: string) => void;

export interface PreviewStackOptions {
  /** `lxc` falls back to `memory` (with one line saying why) when LXC cannot run here. */
  backend: "lxc" | "memory";
  /** Human-readable progress. @default - stderr */
  log?: Progress;
  /** In a mocha hook: a missing binary skips locally and fails under CI=true. @default - a missing binary is an error */
  context?: Mocha.Context;
  /**
   * The preview's certificate: `files`, the proxy host's self-signed `*.preview.test` files; `acme`, its
   * own certificate from a Pebble started here (HTTP-01 through the proxy's nginx). @default "files"
   */
  tls?: PreviewTls;
}

export type PreviewTls = "files" | "acme";

/** What changes between two `pulumi up`s of one branch. */
export interface PreviewSettings {
  /** The git branch; the stack is named after it. */
  branch: string;
  /** The commit being deployed: a new value reruns the deploy step in the same container. */
  revision: string;
  /** The OCI image: a new value replaces the container. */
  image: string;
}

export interface StackConfig {
  config: Record<string, string>;
  secretConfig: Record<string, string>;
}

export interface Leftovers {
  containers: number;
  routes: number;
  records: number;
  /** ACME HTTP-01 tokens and challenge-only servers on the proxy host. */
  challenges: number;
  /** Certificate and key files an AcmeCertificate wrote on the proxy host. */
  certificates: number;
}

/** What the proxy served for a name, verified against the stack's `ca`. */
export interface ServedCertificate {
  subject: string;
  issuer: string;
  serialNumber: string;
  /** The issuing CA's common name, e.g. "Pebble Intermediate CA 1a2b3c". */
  issuerName: string;
}

export interface SshAnswer {
  code: number | null;
  stdout: string;
  stderr: string;
  /** The host key fingerprint the server presented. */
  hostKey: string;
}

export interface PreviewStack {
  readonly run: Run;
  readonly sandbox: Sandbox;
  readonly backend: "lxc" | "memory";
  /** The LXC backend, when containers are real. */
  readonly lxc?: LxcBackend;
  readonly nginx: TestNginx;
  readonly sshd: TestSshd;
  readonly pdns: PowerDnsServer;
  /** How previews get their certificate. */
  readonly tls: PreviewTls;
  /** The ACME server (`tls: "acme"` only). */
  readonly pebble?: TestPebble;
  /** The PEM CA the proxy's certificates chain to: the self-signed files', or Pebble's root. */
  readonly ca: string;
  /** The local OCI registry the nodes pull from (LXC backend only), with the images pushed into it. */
  readonly registry?: Registry;
  /**
   * Image references: `system` boots /sbin/init with sshd and node (the deploy step runs over SSH
   * in it); `app` runs only its HTTP entrypoint. In the registry on LXC; fixed names on memory, where nothing runs.
   */
  readonly images: { system: string; app: string };
  /** Pushes the system image again under a new tag: a new image revision for the same content. */
  pushSystemImage(tag: string): Promise<string>;
  /** The Pulumi project name, from Pulumi.yaml. */
  readonly project: string;
  /** A developer's key pair authorized in the container (the deploy step has its own). */
  readonly userKey: { privateKey: string; publicKey: string; file: string };
  /** Environment for whatever runs the program (the provider host, the Pulumi CLI): the run's mark and temp dir. */
  readonly env: Record<string, string>;
  /** Stack config for the root program (index.ts), as `pulumi config set` would hold it. */
  stackConfig(settings: PreviewSettings): StackConfig;
  /**
   * GET an https URL of the proxy: sent to 127.0.0.1:<its port> with its Host and SNI, trusting the
   * proxy's certificate only. `nginx -s reload` returns before the new workers serve, so a 404 or
   * 502 is asked again until `settleMs` has passed; the last answer is returned.
   */
  fetch(url: string, settleMs?: number): Promise<{ status: number; body: string }>;
  /** A TLS handshake with the proxy for `hostname` (SNI), verified against `ca` only: who issued what it serves. */
  servedCertificate(hostname: string): Promise<ServedCertificate>;
  /** Runs a command as root over SSH through the proxy's allocated port; the host key must match `hostKey` when given. */
  ssh(port: number, command: string, hostKey?: string): Promise<SshAnswer>;
  /** What would be left of a preview: containers (sandbox and LXC), route files, DNS records, ACME challenges and certificates. */
  leftovers(): Promise<Leftovers>;
  /** Stops everything this stack started and removes its temp dirs; safe to call twice. */
  close(): Promise<void>;
}

/** For the demo: a missing binary is an error that names its package (mocha's skip does not exist here). */
function noSkipContext(): Mocha.Context {
  return { skip() { throw new Error("a required program is missing (see the line above)"); } } as unknown as Mocha.Context;
}

function projectName(): string {
  const text = fs.readFileSync(path.join(REPO_ROOT, "Pulumi.yaml"), "utf8");
  const name = (YAML.parse(text) as { name?: unknown } | null)?.name;
  if (typeof name !== "string" || !name) throw new Error("Pulumi.yaml has no `name:`");
  return name;
}

/** `listen ... ssl http2` before nginx 1.25.1, the `http2` directive after. */
function http2Style(): "listen" | "directive" {
  const nginx = findBinary("nginx");
  // nginx -v prints its version on stderr.
  const version = nginx ? /nginx\/(\d+\.\d+\.\d+)/.exec(spawnSync(nginx, ["-v"], { encoding: "utf8" }).stderr ?? "")?.[1] : undefined;
  return version && semver.gte(version, "1.25.1") ? "directive" : "listen";
}

/**
 * The deploy step: writes the sample app, (re)starts it with the revision in its environment, and
 * waits until it answers with that revision. The app runs on the system image's own node. The
 * revision is in the command text, not in `deploy.env`: env values are secret and masked in the
 * log, and a commit SHA is not.
 */
export function appDeployCommands(nodeBinary: string, revision: string): string[] {
  const source = fs.readFileSync(APP_SOURCE, "utf8");
  const withRevision = `APP_REVISION=${shellQuote(revision)}`;
  return [
    "mkdir -p /opt/app",
    `cat > /opt/app/server.js <<'${HEREDOC_END}'\n${source.trimEnd()}\n${HEREDOC_END}`,
    // Stop the previous revision and wait until its port is free, then start this one in the background.
    "cd /opt/app && if [ -f app.pid ]; then old=$(cat app.pid); kill \"$old\" 2>/dev/null; while kill -0 \"$old\" 2>/dev/null; do sleep 0.1; done; fi; "
      + `${withRevision} nohup ${nodeBinary} server.js >app.log 2>&1 </dev/null & echo $! > app.pid`,
    `cd /opt/app && ${withRevision} ${nodeBinary} server.js check`,
  ];
}

/** Ends the heredoc that carries the app's source (in the log, the runner folds what is between). */
export const HEREDOC_END = "LAUNCHPAD_APP";

export async function startPreviewStack(options: PreviewStackOptions): Promise<PreviewStack> {
  const log = options.log ?? ((line: string) => process.stderr.write(`${line}\n`));
  const context = options.context ?? noSkipContext();

  const stale = await cleanStaleRuns();
  if (stale.runs.length > 0) log(`cleaned up ${stale.runs.length} crashed run(s): ended ${stale.processes.length} process(es), removed ${stale.runs.join(", ")}`);
  const pdnsBinary = requireBinary(context, "pdns_server", "pdns-server");
  requireBinary(context, "sqlite3", "sqlite3");

  const run = Run.open("preview-stack");
  run.activate();
  const started: Array<() => Promise<void>> = [];
  const stopAll = async () => {
    const problems: string[] = [];
    for (const stop of started.reverse()) {
      try { await stop(); } catch (error) { problems.push((error as Error).message); }
    }
    started.length = 0;
    run.close();
    if (problems.length) throw new Error(`stopping the preview stack: ${problems.join("; ")}`);
  };
  try {
    let lxc: LxcBackend | undefined;
    if (options.backend === "lxc") {
      const availability = lxcAvailability();
      if (availability.ok) {
        const backend = (await createLxcBackend()) as LxcBackend;
        lxc = backend;
        // The sandbox closes it too (a second close does nothing); this covers a sandbox that fails to start.
        started.push(() => backend.close());
      } else log(`LXC backend unavailable (${availability.reason}); using the in-memory backend: containers are records, nothing runs in them`);
    }
    // The sandbox cleans up containers and bridges of crashed runs before it serves (the LXC backend's cleanup()).
    // The nodes pull from a registry on loopback that they trust by its CA, as /etc/containers/certs.d would say on a node.
    let registry: Registry | undefined;
    let images = { system: "registry.invalid/launchpad-system:demo", app: "registry.invalid/launchpad-app:demo" };
    let builtSystem: Awaited<ReturnType<typeof systemImage>> | undefined;
    if (lxc) {
      const clock = performance.now();
      const [system, app] = [await systemImage(), await appImage()];
      builtSystem = system;
      registry = await startRegistry({ auth: { username: "launchpad", password: crypto.randomBytes(12).toString("base64url") } });
      const own = registry;
      started.push(() => own.stop());
      images = { system: await registry.push(system), app: await registry.push(app) };
      log(`registry: ${registry.host} (TLS, htpasswd), images built or found cached and pushed in ${Math.round(performance.now() - clock) / 1000} s`);
    }
    const sandbox = await startSandbox({
      backend: lxc ?? "memory",
      registryTrust: registry ? { certDir: registry.certDir, authFile: registry.authFile } : undefined,
    });
    started.push(() => sandbox.close());
    log(`sandbox: ${sandbox.endpoint} (${sandbox.backendKind} backend${lxc ? `, bridge ${lxc.bridge} ${lxc.subnet}` : ""})`);

    const nginx = await startNginx(context);
    started.push(() => nginx.stop());
    const sshd = await startSshd(context);
    started.push(() => sshd.stop());
    log(`proxy host: nginx https on 127.0.0.1:${nginx.httpsPort}, reached over OpenSSH at ${sshd.user}@127.0.0.1:${sshd.port}`);

    const pdns = await PowerDnsServer.start(pdnsBinary);
    started.push(() => pdns.stop());
    await pdns.createZone(DOMAIN);
    log(`PowerDNS: API ${pdns.apiUrl}, DNS 127.0.0.1:${pdns.dnsPort}, zone ${DOMAIN}`);

    const tlsKind = options.tls ?? "files";
    let pebble: TestPebble | undefined;
    let ca = fs.readFileSync(nginx.certificate, "utf8");
    if (tlsKind === "acme") {
      // Pebble resolves the preview's name in the preview's DNS and asks the proxy's nginx for the HTTP-01 token.
      pebble = await startPebble(context, { dnsPort: pdns.dnsPort, httpPort: nginx.httpPort });
      const own = pebble;
      started.push(() => own.stop());
      ca = await pebble.root();
      log(`Pebble (ACME): ${pebble.directoryUrl}, HTTP-01 through nginx 127.0.0.1:${nginx.httpPort}, names resolved by PowerDNS`);
    }

    const pair = generateDeployKey("launchpad-demo-user");
    const keyFile = path.join(run.dir, "id_ed25519");
    fs.writeFileSync(keyFile, pair.privateKey, { mode: 0o600 });
    const userKey = { ...pair, file: keyFile };

    const project = projectName();
    const http2 = http2Style();
    // The system image's own node (Debian's nodejs), not the host's.
    const nodeBinary = "node";
    // Stream ports from a per-process slice, so concurrent runs on one machine rarely meet.
    const portBase = 20_000 + (process.pid % 400) * 100;

    const stack: PreviewStack = {
      run, sandbox, backend: sandbox.backendKind, lxc, nginx, sshd, pdns, tls: tlsKind, pebble, ca, registry, images, project, userKey, env: run.env,

      async pushSystemImage(tag) {
        if (!registry || !builtSystem) return images.system.replace(/:[^:/]+$/, `:${tag}`);
        return registry.push(builtSystem, tag);
      },

      stackConfig(settings: PreviewSettings): StackConfig {
        const proxy = {
          ...proxyHost(sshd, nginx), publicAddress: "127.0.0.1", http2,
          ...(pebble
            ? { tls: "acme", acme: { directoryUrl: pebble.directoryUrl, directoryCa: pebble.directoryCa, email: `ops@${DOMAIN}` } }
            : { tls: { certificate: nginx.certificate, key: nginx.key } }),
          portRange: { from: portBase, to: portBase + 99 },
        };
        const config: Record<string, string> = {
          "preview:branch": settings.branch,
          "preview:repository": "acme/shop",
          "preview:image": settings.image,
          "preview:domain": DOMAIN,
          "preview:container": JSON.stringify({ cores: 1, memory: 512, sshPublicKeys: [userKey.publicKey] }),
          // On the memory backend no sshd runs behind the SSH route: it is made without waiting for one.
          "preview:services": JSON.stringify({ http: APP_PORT, ssh: sandbox.backendKind === "lxc" ? true : { timeoutSeconds: 0 } }),
          "preview:proxy": JSON.stringify(proxy),
          "preview:dns": JSON.stringify({ kind: "self-hosted", zone: DOMAIN, server: { kind: "powerdns", url: pdns.apiUrl, allowPlainHttp: true } }),
          "launchpad:endpoint": sandbox.endpoint,
          "launchpad:fingerprint": sandbox.fingerprint,
        };
        // On the memory backend no process runs in a container: a deploy step could never connect.
        if (sandbox.backendKind === "lxc") {
          config["preview:deploy"] = JSON.stringify({
            commands: appDeployCommands(nodeBinary, settings.revision),
            env: { APP_PORT: String(APP_PORT) },
            connectTimeoutSeconds: 60,
          });
          config["preview:revision"] = settings.revision;
        }
        return {
          config,
          secretConfig: {
            "launchpad:apiToken": sandbox.apiToken,
            "preview:proxyPrivateKey": sshd.privateKey,
            "preview:dnsSecret": pdns.apiKey,
          },
        };
      },

      async fetch(url, settleMs = 10_000) {
        const deadline = Date.now() + settleMs;
        for (;;) {
          const answer = await fetchThroughProxy(url, nginx, ca, 15_000);
          if (![404, 502, 503, 504].includes(answer.status) || Date.now() > deadline) return answer;
          await new Promise((resolve) => setTimeout(resolve, 100));
        }
      },

      servedCertificate: (hostname) => servedCertificate(hostname, nginx, ca),

      ssh: (port, command, hostKey) => sshRun({ host: "127.0.0.1", port, privateKey: userKey.privateKey, command, hostKey, timeoutMs: 20_000 }),

      async leftovers(): Promise<Leftovers> {
        let containers = sandbox.containers().length;
        if (lxc) {
          const names = execFileSync("lxc-ls", ["-P", lxc.lxcPath, "-1"], { encoding: "utf8" }).split(/\s+/).filter(Boolean);
          containers = Math.max(containers, names.filter((name) => name.startsWith(`${lxc!.namePrefix}${lxc!.runId}-`)).length);
        }
        const routes = ["http", "stream"]
          .flatMap((kind) => fs.readdirSync(path.join(nginx.confDir, kind)))
          // `_launchpad-shared.conf` holds what all HTTP routes share: the proxy host's, not a route.
          .filter((file) => file.endsWith(".conf") && !file.startsWith("_")).length;
        const zone = (await pdns.api("GET", `/zones/${DOMAIN}.`)) as { rrsets: Array<{ type: string }> };
        const records = zone.rrsets.filter((rrset) => rrset.type !== "SOA" && rrset.type !== "NS").length;
        const listed = (dir: string) => (fs.existsSync(dir) ? fs.readdirSync(dir) : []);
        const challenges = listed(path.join(nginx.confDir, "acme", ".well-known", "acme-challenge")).length
          + listed(path.join(nginx.confDir, "http")).filter((file) => file.startsWith("_acme-")).length;
        const certificates = listed(path.join(nginx.confDir, "certs")).length;
        return { containers, routes, records, challenges, certificates };
      },

      close: stopAll,
    };
    return stack;
  } catch (error) {
    await stopAll().catch(() => undefined);
    throw error;
  }
}

function fetchThroughProxy(url: string, nginx: TestNginx, ca: string, timeoutMs: number): Promise<{ status: number; body: string }> {
  const target = new URL(url);
  const port = Number(target.port || 443);
  if (target.protocol !== "https:" || port !== nginx.httpsPort) throw new Error(`${url} is not served by the proxy's https listener on port ${nginx.httpsPort}`);
  return new Promise((resolve, reject) => {
    // The name resolves only in the preview's DNS: connect to the proxy's loopback listener, name the host in SNI and Host.
    const request = https.get({
      host: "127.0.0.1", port, path: `${target.pathname}${target.search}`, servername: target.hostname,
      headers: { host: target.host }, ca, timeout: timeoutMs,
    }, (response) => {
      let body = "";
      response.setEncoding("utf8").on("data", (chunk: string) => (body += chunk));
      response.on("end", () => resolve({ status: response.statusCode ?? 0, body }));
    });
    request.on("timeout", () => request.destroy(new Error(`GET ${url}: no answer within ${timeoutMs} ms`)));
    request.on("error", reject);
  });
}

function servedCertificate(hostname: string, nginx: TestNginx, ca: string): Promise<ServedCertificate> {
  return new Promise((resolve, reject) => {
    // Verification stays on: only a certificate chaining to `ca` and naming `hostname` completes the handshake.
    const socket = tls.connect({ host: "127.0.0.1", port: nginx.httpsPort, servername: hostname, ca, timeout: 15_000 }, () => {
      const peer = socket.getPeerCertificate();
      socket.end();
      const flat = (name: tls.Certificate) => Object.entries(name).map(([key, value]) => `${key}=${value}`).join(", ");
      resolve({ subject: flat(peer.subject), issuer: flat(peer.issuer), serialNumber: peer.serialNumber, issuerName: String(peer.issuer.CN ?? "") });
    });
    socket.on("timeout", () => socket.destroy(new Error(`TLS to the proxy for ${hostname}: no answer within 15 s`)));
    socket.on("error", reject);
  });
}

/** A random revision id, shaped like a commit SHA. */
export function fakeRevision(): string {
  return crypto.randomBytes(20).toString("hex");
}
