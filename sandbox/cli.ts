// `npm run sandbox -- [--port N] [--host H] [--lxc] [--nodes pve1,pve2,pve3] [--task-ms vzcreate=8000,...] [--access FILE]
//   [--ip-delay-ms N] [--registry-cert-dir DIR] [--registry-auth-file FILE] [--log-requests]`: starts the sandbox, prints one JSON line once it answers,
// runs until SIGINT/SIGTERM.
import * as fs from "fs";
import * as https from "https";
import { parseArgs as parseCommandLineArgs } from "node:util";
import { startSandbox, SandboxOptions } from "./index";

const USAGE =
  "usage: npm run sandbox -- [--port N] [--host ADDR] [--lxc] [--nodes pve1,pve2,pve3] " +
  "[--task-ms TYPE=MS,...] [--ip-delay-ms N] [--ticket-lifetime-ms N] [--access access.json] [--registry-cert-dir DIR] [--registry-auth-file FILE] [--log-requests]";

export function parseArgs(argv: string[]): SandboxOptions {
  let parsed: ReturnType<typeof parseCommandLine>;
  try {
    parsed = parseCommandLine(argv);
  } catch (error) {
    // node's wording is "Unknown option '--x'"; keep the usage next to it.
    throw new Error(`${(error as Error).message.replace(/^Unknown option/, "unknown option")}\n${USAGE}`);
  }
  const { values } = parsed;
  if (values.help) {
    process.stderr.write(`${USAGE}\n`);
    process.exit(0);
  }
  const integer = (flag: string, text: string | undefined) => {
    if (text === undefined) return undefined;
    if (!/^\d+$/.test(text)) throw new Error(`--${flag} must be a non-negative integer, got '${text}'`);
    return Number(text);
  };
  const options: SandboxOptions = {};
  const port = integer("port", values.port);
  if (port !== undefined) options.port = port;
  if (values.host !== undefined) options.host = values.host;
  if (values.lxc) options.backend = "lxc";
  if (values.nodes !== undefined) {
    options.nodes = values.nodes.split(",").map((node) => node.trim()).filter(Boolean);
    if (!options.nodes.every((node) => /^[a-zA-Z0-9]([a-zA-Z0-9-]*[a-zA-Z0-9])?$/.test(node))) throw new Error(`--nodes: invalid node name in '${options.nodes.join(",")}'`);
  }
  if (values["task-ms"] !== undefined) {
    options.taskDurationsMs = {};
    for (const pair of values["task-ms"].split(",").filter(Boolean)) {
      const match = /^([\w-]+)=(\d+)$/.exec(pair);
      if (!match) throw new Error(`--task-ms expects TYPE=MS pairs, got '${pair}'`);
      options.taskDurationsMs[match[1]] = Number(match[2]);
    }
  }
  const ipDelayMs = integer("ip-delay-ms", values["ip-delay-ms"]);
  if (ipDelayMs !== undefined) options.ipDelayMs = ipDelayMs;
  const ticketLifetimeMs = integer("ticket-lifetime-ms", values["ticket-lifetime-ms"]);
  if (ticketLifetimeMs !== undefined) options.ticketLifetimeMs = ticketLifetimeMs;
  if (values.access !== undefined) {
    // {users, groups, roles, acl} as SandboxAccess describes them: users, tokens, roles and ACLs to start with.
    try {
      options.access = JSON.parse(fs.readFileSync(values.access, "utf8"));
    } catch (error) {
      throw new Error(`--access: cannot read ${values.access}: ${(error as Error).message}`);
    }
  }
  // What the nodes' /etc/containers would hold: a certs.d directory (ca.crt) and an auth file for oci-registry-pull.
  if (values["registry-cert-dir"] !== undefined) options.registryTrust = { ...options.registryTrust, certDir: values["registry-cert-dir"] };
  if (values["registry-auth-file"] !== undefined) options.registryTrust = { ...options.registryTrust, authFile: values["registry-auth-file"] };
  if (values["log-requests"]) options.logRequests = true;
  return options;
}

function parseCommandLine(argv: string[]) {
  return parseCommandLineArgs({
    args: argv,
    strict: true,
    allowPositionals: false,
    options: {
      port: { type: "string" },
      host: { type: "string" },
      lxc: { type: "boolean" },
      nodes: { type: "string" },
      "task-ms": { type: "string" },
      "ip-delay-ms": { type: "string" },
      "ticket-lifetime-ms": { type: "string" },
      access: { type: "string" },
      "registry-cert-dir": { type: "string" },
      "registry-auth-file": { type: "string" },
      "log-requests": { type: "boolean" },
      help: { type: "boolean", short: "h" },
    },
  });
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
