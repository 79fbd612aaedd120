// A real ACME server for tests: Debian's Pebble on loopback, its own HTTPS certificate (made here),
// validation pointed at the test PowerDNS (-dnsserver) and the test nginx (httpPort). stop() ends it.

import { execFile } from "child_process";
import * as fs from "fs";
import * as https from "https";
import * as os from "os";
import * as path from "path";
import { promisify } from "util";
import { requireBinary } from "./binaries";
import { freePort, startServer, waitForPort } from "./ports";

const run = promisify(execFile);
const STARTUP_MS = 60_000;

export interface TestPebble {
  /** The ACME directory, https://127.0.0.1:<port>/dir. */
  readonly directoryUrl: string;
  /** Pebble's own HTTPS certificate: AcmeCertificate's `directoryCa`. */
  readonly directoryCa: string;
  /** The root the certificates Pebble issues chain to (from its management endpoint). */
  root(): Promise<string>;
  stop(): Promise<void>;
}

export async function startPebble(context: Mocha.Context, options: { dnsPort: number; httpPort: number }): Promise<TestPebble> {
  const pebble = requireBinary(context, "pebble", "pebble");
  const openssl = requireBinary(context, "openssl", "openssl");
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "launchpad-pebble-"));
  const [cert, key] = [path.join(dir, "cert.pem"), path.join(dir, "key.pem")];
  await run(openssl, ["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout", key, "-out", cert,
    "-days", "2", "-subj", "/CN=pebble.test", "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost"]);
  const [port, managementPort, tlsPort] = [await freePort(), await freePort(), await freePort()];
  const config = path.join(dir, "pebble-config.json");
  fs.writeFileSync(config, JSON.stringify({
    pebble: {
      listenAddress: `127.0.0.1:${port}`,
      managementListenAddress: `127.0.0.1:${managementPort}`,
      certificate: cert,
      privateKey: key,
      httpPort: options.httpPort,
      tlsPort,
      ocspResponderURL: "",
      externalAccountBindingRequired: false,
      // Orders for names under blocked.test are refused (rejectedIdentifier): a CA that says no.
      domainBlocklist: ["blocked.test"],
    },
  }));
  // No random sleeps before validation, no nonce rejections to retry, no authorization reuse
  // (a failure test must not be satisfied by an earlier success).
  const env = { ...process.env, PEBBLE_VA_NOSLEEP: "1", PEBBLE_WFE_NONCEREJECT: "0", PEBBLE_AUTHZREUSE: "0" };
  const directoryCa = fs.readFileSync(cert, "utf8");
  // Pebble makes its root and intermediate keys before it listens: on a busy machine that takes more than 15 s.
  const { stop } = await startServer(pebble, ["-config", config, "-dnsserver", `127.0.0.1:${options.dnsPort}`], { name: "pebble", port, dir, env, timeoutMs: STARTUP_MS });
  try {
    await waitForPort(managementPort, "127.0.0.1", STARTUP_MS);
  } catch (error) {
    await stop();
    throw error;
  }
  return {
    directoryUrl: `https://127.0.0.1:${port}/dir`,
    directoryCa,
    root: () => new Promise((resolve, reject) => {
      https.get({ host: "127.0.0.1", port: managementPort, path: "/roots/0", ca: directoryCa, agent: false }, (res) => {
        let body = "";
        res.on("data", (c) => { body += c; });
        res.on("end", () => (res.statusCode === 200 ? resolve(body) : reject(new Error(`pebble /roots/0: ${res.statusCode} ${body}`))));
      }).on("error", reject);
    }),
    stop,
  };
}
