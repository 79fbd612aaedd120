// `npm run sandbox -- [--port N] [--host H] [--lxc] [--nodes pve1,pve2,pve3] [--task-ms vzcreate=8000,...]
//   [--ip-delay-ms N] [--registry-cert-dir DIR] [--registry-auth-file FILE] [--log-requests]`: starts the sandbox, prints one JSON line once it answers,
// runs until SIGINT/SIGTERM.
import * as https from "https";
import { startSandbox, SandboxOptions } from "./index";

const USAGE =
  "usage: npm run sandbox -- [--port N] [--host ADDR] [--lxc] [--nodes pve1,pve2,pve3] " +
  "[--task-ms TYPE=MS,...] [--ip-delay-ms N] [--ticket-lifetime-ms N] [--registry-cert-dir DIR] [--registry-auth-file FILE] [--log-requests]";

export function parseArgs(argv: string[]): SandboxOptions {
  const options: SandboxOptions = {};
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    const [flag, inline] = arg.includes("=") && arg.startsWith("--") ? [arg.slice(0, arg.indexOf("=")), arg.slice(arg.indexOf("=") + 1)] : [arg, undefined];
    const value = () => {
      const next = inline ?? argv[++i];
      if (next === undefined) throw new Error(`${flag} needs a value\n${USAGE}`);
      return next;
    };
    const integer = () => {
      const text = value();
      if (!/^\d+$/.test(text)) throw new Error(`${flag} must be a non-negative integer, got '${text}'`);
      return Number(text);
    };
    switch (flag) {
      case "--port":
        options.port = integer();
        break;
      case "--host":
        options.host = value();
        break;
      case "--lxc":
        options.backend = "lxc";
        break;
      case "--nodes":
        options.nodes = value().split(",").map((node) => node.trim()).filter(Boolean);
        if (!options.nodes.every((node) => /^[a-zA-Z0-9]([a-zA-Z0-9-]*[a-zA-Z0-9])?$/.test(node))) throw new Error(`--nodes: invalid node name in '${options.nodes.join(",")}'`);
        break;
      case "--task-ms": {
        options.taskDurationsMs = {};
        for (const pair of value().split(",").filter(Boolean)) {
          const match = /^([\w-]+)=(\d+)$/.exec(pair);
          if (!match) throw new Error(`--task-ms expects TYPE=MS pairs, got '${pair}'`);
          options.taskDurationsMs[match[1]] = Number(match[2]);
        }
        break;
      }
      case "--ip-delay-ms":
        options.ipDelayMs = integer();
        break;
      case "--ticket-lifetime-ms":
        options.ticketLifetimeMs = integer();
        break;
      // What the nodes' /etc/containers would hold: a certs.d directory (ca.crt) and an auth file for oci-registry-pull.
      case "--registry-cert-dir":
        options.registryTrust = { ...options.registryTrust, certDir: value() };
        break;
      case "--registry-auth-file":
        options.registryTrust = { ...options.registryTrust, authFile: value() };
        break;
      case "--log-requests":
        options.logRequests = true;
        break;
      case "--help":
      case "-h":
        process.stderr.write(`${USAGE}\n`);
        process.exit(0);
        break;
      default:
        throw new Error(`unknown option '${arg}'\n${USAGE}`);
    }
  }
  return options;
}

/** Resolves once the sandbox answers `GET /api2/json/version` over TLS with its own CA. */
function answers(endpoint: string, caCert: string, token: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const request = https.get(`${endpoint}/api2/json/version`, { ca: caCert, headers: { Authorization: `PVEAPIToken=${token}` } }, (res) => {
      res.resume();
      res.statusCode === 200 ? resolve() : reject(new Error(`sandbox answered ${res.statusCode}`));
    });
    request.on("error", reject);
  });
}

async function main(): Promise<void> {
  const options = parseArgs(process.argv.slice(2));
  const sandbox = await startSandbox(options);
  await answers(sandbox.endpoint, sandbox.caCert, sandbox.apiToken);
  process.stdout.write(
    JSON.stringify({ endpoint: sandbox.endpoint, apiToken: sandbox.apiToken, fingerprint: sandbox.fingerprint, nodes: sandbox.nodes }) + "\n",
  );
  process.stderr.write(`sandbox: listening on ${sandbox.endpoint} (${sandbox.backendKind} backend); Ctrl-C stops it\n`);
  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    process.stderr.write(`sandbox: ${signal}, shutting down\n`);
    sandbox.close().then(
      () => process.exit(0),
      (error) => {
        process.stderr.write(`sandbox: shutdown failed: ${(error as Error).message}\n`);
        process.exit(1);
      },
    );
  };
  process.on("SIGINT", () => stop("SIGINT"));
  process.on("SIGTERM", () => stop("SIGTERM"));
}

if (require.main === module) {
  main().catch((error) => {
    process.stderr.write(`sandbox: ${(error as Error).message}\n`);
    process.exit(1);
  });
}
