// A real PowerDNS Authoritative server for tests: sqlite backend in a temp dir, DNS and the HTTP
// API on free loopback ports, dynamic updates allowed from loopback with a TSIG key.
import { ChildProcess, execFileSync, spawn } from "child_process";
import * as crypto from "crypto";
import * as dgram from "dgram";
import * as dnsPacket from "dns-packet";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { requireBinary } from "./binaries";
import { freePort, waitForPort } from "./ports";

const SCHEMA_CANDIDATES = [
  "/usr/share/pdns-backend-sqlite3/schema/schema.sqlite3.sql",
  "/usr/share/doc/pdns-backend-sqlite3/schema.sqlite3.sql",
];

export interface PdnsTsigKey { name: string; algorithm: "hmac-sha256" | "hmac-sha512"; secret: string }

export class PowerDnsServer {
  private constructor(
    readonly dir: string,
    readonly dnsPort: number,
    readonly apiUrl: string,
    readonly apiKey: string,
    private readonly process: ChildProcess,
    private readonly log: () => string,
  ) {}

  /** DnsRecord's `server` through the HTTP API (plain HTTP on loopback, opted into). */
  apiServer() {
    return { kind: "powerdns" as const, url: this.apiUrl, apiKey: this.apiKey, allowPlainHttp: true };
  }

  /** DnsRecord's `server` through RFC 2136 updates signed with `tsig`. */
  updateServer(tsig: PdnsTsigKey) {
    return { kind: "rfc2136" as const, host: "127.0.0.1", port: this.dnsPort, tsig };
  }

  /**
   * For a mocha hook: pdns_server and sqlite3 required (a skip locally, a failure under CI=true), the
   * server started, and `zone` made with these TSIG keys allowed to update it.
   */
  static async startWithZone(context: Mocha.Context, zone: string, keys: PdnsTsigKey[]): Promise<PowerDnsServer> {
    const binary = requireBinary(context, "pdns_server", "pdns-server");
    requireBinary(context, "sqlite3", "sqlite3");
    const server = await PowerDnsServer.start(binary);
    await server.createZone(zone, keys);
    return server;
  }

  /** Starts pdns_server (`binary` from requireBinary) and waits until both ports answer. */
  static async start(binary: string): Promise<PowerDnsServer> {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "launchpad-pdns-"));
    const schema = SCHEMA_CANDIDATES.find((p) => fs.existsSync(p));
    if (!schema) throw new Error(`no PowerDNS sqlite schema at ${SCHEMA_CANDIDATES.join(" or ")}: install pdns-backend-sqlite3`);
    const database = path.join(dir, "pdns.sqlite3");
    execFileSync("sqlite3", [database], { input: fs.readFileSync(schema) });
    const [dnsPort, apiPort] = [await freePort(), await freePort()];
    const apiKey = crypto.randomBytes(18).toString("base64url");
    fs.writeFileSync(path.join(dir, "pdns.conf"), [
      "launch=gsqlite3",
      `gsqlite3-database=${database}`,
      "local-address=127.0.0.1",
      `local-port=${dnsPort}`,
      "api=yes",
      `api-key=${apiKey}`,
      "webserver=yes",
      "webserver-address=127.0.0.1",
      `webserver-port=${apiPort}`,
      "webserver-allow-from=127.0.0.1",
      "dnsupdate=yes",
      "allow-dnsupdate-from=127.0.0.0/8",
      `socket-dir=${dir}`,
      "guardian=no",
      "daemon=no",
      "disable-syslog=yes",
      "log-dns-queries=no",
      "loglevel=4",
      // Tests read back right after writing: no answer caches, no zone cache.
      "cache-ttl=0",
      "negquery-cache-ttl=0",
      "query-cache-ttl=0",
      "zone-cache-refresh-interval=0",
      "",
    ].join("\n"));
    let log = "";
    const child = spawn(binary, [`--config-dir=${dir}`], { stdio: ["ignore", "pipe", "pipe"] });
    child.stdout!.on("data", (d) => { log += d; });
    child.stderr!.on("data", (d) => { log += d; });
    const server = new PowerDnsServer(dir, dnsPort, `http://127.0.0.1:${apiPort}`, apiKey, child, () => log);
    try {
      const exited = new Promise<never>((_, reject) => child.once("exit", (code) => reject(new Error(`pdns_server exited (${code}):\n${log}`))));
      await Promise.race([waitForPort(apiPort), exited]);
      await Promise.race([waitForPort(dnsPort), exited]);
    } catch (error) {
      await server.stop();
      throw error;
    }
    return server;
  }

  get output(): string { return this.log(); }

  get running(): boolean { return this.process.exitCode === null && this.process.signalCode === null; }

  async api(method: string, apiPath: string, body?: unknown): Promise<unknown> {
    const response = await fetch(`${this.apiUrl}/api/v1/servers/localhost${apiPath}`, {
      method,
      headers: { "X-API-Key": this.apiKey, "Content-Type": "application/json" },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await response.text();
    if (!response.ok) throw new Error(`PowerDNS ${method} ${apiPath}: ${response.status} ${text}`);
    return text ? JSON.parse(text) : undefined;
  }

  /** A native zone with SOA and NS, and (when given) TSIG keys allowed to update it. */
  async createZone(zone: string, tsigKeys: PdnsTsigKey[] = []): Promise<void> {
    await this.api("POST", "/zones", { name: `${zone}.`, kind: "Native", nameservers: [`ns1.${zone}.`] });
    for (const key of tsigKeys) {
      await this.api("POST", "/tsigkeys", { name: key.name, algorithm: key.algorithm, key: key.secret }).catch((e: Error) => {
        if (!/already exists|Conflict|409/.test(e.message)) throw e;
      });
    }
    if (tsigKeys.length) {
      await this.api("PUT", `/zones/${zone}./metadata/TSIG-ALLOW-DNSUPDATE`, { metadata: tsigKeys.map((k) => k.name) });
    }
  }

  /** What the server answers over DNS for name/type: values as dns-packet decodes them, and TTLs. */
  async query(name: string, type: string): Promise<{ rcode: string; answers: dnsPacket.Answer[] }> {
    const id = crypto.randomInt(0, 65536);
    const message = dnsPacket.encode({ type: "query", id, questions: [{ type: type as never, name, class: "IN" }] });
    const socket = dgram.createSocket("udp4");
    try {
      const response = await new Promise<Buffer>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`no DNS answer for ${name} ${type}`)), 5_000);
        socket.on("message", (m) => { if (m.readUInt16BE(0) === id) { clearTimeout(timer); resolve(m); } });
        socket.send(message, this.dnsPort, "127.0.0.1");
      });
      const packet = dnsPacket.decode(response);
      return { rcode: (packet as { rcode?: string }).rcode ?? "NOERROR", answers: (packet.answers ?? []).filter((a) => a.type === type) };
    } finally {
      socket.close();
    }
  }

  async stop(): Promise<void> {
    if (this.running) {
      const exited = new Promise((resolve) => this.process.once("exit", resolve));
      this.process.kill("SIGTERM");
      const timer = setTimeout(() => this.process.kill("SIGKILL"), 5_000);
      await exited;
      clearTimeout(timer);
    }
    fs.rmSync(this.dir, { recursive: true, force: true });
  }
}
