// A local OCI registry on loopback for the demo, bench and tests: Debian's docker-registry with TLS
// from a CA made per start (never a disabled verification), optional htpasswd (bcrypt) auth, and
// images pushed into it with skopeo from the OCI layouts devstack/images.ts builds.
import { ChildProcess, execFile, spawn } from "child_process";
import * as fs from "fs";
import * as net from "net";
import * as os from "os";
import * as path from "path";
import { promisify } from "util";
import type { BuiltImage } from "./images";

const execFileAsync = promisify(execFile);
const START_TIMEOUT_MS = 15_000;

export interface RegistryOptions {
  /** Require this user and password (htpasswd, bcrypt). @default - anonymous pulls and pushes */
  auth?: { username: string; password: string };
}

export interface Registry {
  /** `127.0.0.1:PORT`, the registry part of a reference. */
  host: string;
  /** The CA (PEM) the registry's certificate is issued by: what a node must trust. */
  caCert: string;
  /**
   * A containers-certs.d directory for this registry (`ca.crt` inside): what skopeo's
   * `--src-cert-dir`/`--dest-cert-dir` take, and what a node keeps in /etc/containers/certs.d/<host>.
   */
  certDir: string;
  /** A containers-auth.json with the credentials, when auth is on (what `skopeo login` writes on a node). */
  authFile?: string;
  /** Pushes a built image (under `tag`, default the image's own) and returns its reference `host/name:tag`. */
  push(image: BuiltImage, tag?: string): Promise<string>;
  stop(): Promise<void>;
}

export async function startRegistry(options: RegistryOptions = {}): Promise<Registry> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "launchpad-registry-"));
  let child: ChildProcess | undefined;
  const stop = async (): Promise<void> => {
    if (child && child.exitCode === null && child.signalCode === null) {
      const exited = new Promise((resolve) => child!.once("exit", resolve));
      child.kill("SIGTERM");
      await Promise.race([exited, new Promise((resolve) => setTimeout(resolve, 5_000))]);
      if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
    }
    fs.rmSync(dir, { recursive: true, force: true });
  };
  try {
    const port = await freePort();
    const host = `127.0.0.1:${port}`;
    const certDir = path.join(dir, "certs.d", host);
    fs.mkdirSync(certDir, { recursive: true });
    const { caCert, cert, key } = await makeCertificates(dir);
    fs.writeFileSync(path.join(certDir, "ca.crt"), caCert);

    const lines = [
      "version: 0.1",
      "log: { level: warn }",
      `storage: { filesystem: { rootdirectory: ${JSON.stringify(path.join(dir, "data"))} }, delete: { enabled: true } }`,
      `http: { addr: ${JSON.stringify(host)}, tls: { certificate: ${JSON.stringify(cert)}, key: ${JSON.stringify(key)} } }`,
    ];
    let authFile: string | undefined;
    if (options.auth) {
      const { username, password } = options.auth;
      if (!/^[A-Za-z0-9._-]+$/.test(username)) throw new Error(`auth.username: letters, digits, . _ - only: ${username}`);
      const htpasswd = path.join(dir, "htpasswd");
      // -i reads the password from stdin: never on a command line another user could read in ps.
      await new Promise<void>((resolve, reject) => {
        const proc = spawn("htpasswd", ["-B", "-i", "-c", htpasswd, username], { stdio: ["pipe", "ignore", "pipe"] });
        let stderr = "";
        proc.stderr.on("data", (chunk) => (stderr += chunk));
        proc.on("error", (error) => reject(new Error(`htpasswd: ${error.message} (Debian package apache2-utils)`)));
        proc.on("exit", (code) => (code === 0 ? resolve() : reject(new Error(`htpasswd: exit ${code}: ${stderr.trim()}`))));
        proc.stdin.end(password);
      });
      lines.push(`auth: { htpasswd: { realm: launchpad, path: ${JSON.stringify(htpasswd)} } }`);
      authFile = path.join(dir, "auth.json");
      const auth = Buffer.from(`${username}:${password}`).toString("base64");
      fs.writeFileSync(authFile, JSON.stringify({ auths: { [host]: { auth } } }) + "\n", { mode: 0o600 });
    }
    const config = path.join(dir, "config.yml");
    fs.writeFileSync(config, lines.join("\n") + "\n");

    let output = "";
    child = spawn("docker-registry", ["serve", config], { stdio: ["ignore", "pipe", "pipe"] });
    child.stdout!.on("data", (chunk) => (output = (output + chunk).slice(-2000)));
    child.stderr!.on("data", (chunk) => (output = (output + chunk).slice(-2000)));
    const failed = new Promise<never>((_, reject) => {
      child!.once("error", (error) => reject(new Error(`docker-registry: ${error.message} (Debian package docker-registry)`)));
      child!.once("exit", (code) => reject(new Error(`docker-registry exited (${code}): ${output.trim()}`)));
    });
    failed.catch(() => undefined);
    await Promise.race([waitUntilServing(port, caCert), failed]);

    const registry: Registry = {
      host, caCert, certDir, authFile, stop,
      async push(image, tag = image.tag) {
        const reference = `${host}/${image.name}:${tag}`;
        const credentials = authFile ? ["--dest-authfile", authFile] : [];
        await execFileAsync("skopeo", [
          "copy", "--quiet", "--dest-cert-dir", certDir, ...credentials, `oci:${image.layout}:${image.tag}`, `docker://${reference}`,
        ], { timeout: 5 * 60_000 }).catch((error: Error & { stderr?: string }) => {
          throw new Error(`skopeo copy to ${reference}: ${(error.stderr ?? error.message).trim()}`);
        });
        return reference;
      },
    };
    return registry;
  } catch (error) {
    await stop();
    throw error;
  }
}

/** A CA and a certificate for 127.0.0.1 issued by it, with openssl: the registry presents the leaf. */
async function makeCertificates(dir: string): Promise<{ caCert: string; cert: string; key: string }> {
  const file = (name: string) => path.join(dir, name);
  const openssl = (...args: string[]) => execFileAsync("openssl", args, { timeout: 30_000 });
  await openssl("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-days", "2",
    "-subj", "/CN=launchpad devstack registry CA", "-keyout", file("ca.key"), "-out", file("ca.pem"),
    "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign,cRLSign");
  await openssl("req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-subj", "/CN=127.0.0.1",
    "-keyout", file("registry.key"), "-out", file("registry.csr"));
  fs.writeFileSync(file("ext.cnf"), "subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\nbasicConstraints=CA:FALSE\n");
  await openssl("x509", "-req", "-in", file("registry.csr"), "-CA", file("ca.pem"), "-CAkey", file("ca.key"), "-CAcreateserial",
    "-days", "2", "-extfile", file("ext.cnf"), "-out", file("registry.pem"));
  fs.rmSync(file("ca.key"));
  return { caCert: fs.readFileSync(file("ca.pem"), "utf8"), cert: file("registry.pem"), key: file("registry.key") };
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const port = (server.address() as net.AddressInfo).port;
      server.close(() => resolve(port));
    });
  });
}

/** Until `GET /v2/` answers over TLS (200, or 401 with auth on), trusting only the registry's CA. */
async function waitUntilServing(port: number, caCert: string): Promise<void> {
  const https = await import("https");
  const deadline = Date.now() + START_TIMEOUT_MS;
  for (;;) {
    const status = await new Promise<number>((resolve) => {
      const request = https.get({ host: "127.0.0.1", port, path: "/v2/", ca: caCert, timeout: 2_000 }, (response) => {
        response.resume();
        resolve(response.statusCode ?? 0);
      });
      request.on("timeout", () => request.destroy());
      request.on("error", () => resolve(0));
    });
    if (status === 200 || status === 401) return;
    if (Date.now() > deadline) throw new Error(`docker-registry did not answer on 127.0.0.1:${port} within ${START_TIMEOUT_MS} ms`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}
