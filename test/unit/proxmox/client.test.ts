// The client's transport against a bare HTTPS server the test scripts request by request: auth headers,
// encoding, error fields, TLS pinning, what is and is not re-sent. The Proxmox-shaped behaviour
// (tasks, locks, validation) is covered against the sandbox in test/integration/proxmox-client.test.ts.
import { strict as assert } from "assert";
import * as fs from "fs";
import * as http from "http";
import * as https from "https";
import type { AddressInfo } from "net";
import * as os from "os";
import * as path from "path";
import { performance } from "perf_hooks";
import * as util from "util";
import { loopbackCertificate } from "../../support/loopback-cert";
import { isLaunchpadError, PveHttpError, PveNetworkError, PveTaskError } from "../../../provider/errors";
import { encodeParams, ProxmoxClient, type ProxmoxConnection, type RequestInfo } from "../../../provider/proxmox";
import { DEFAULT_RETRY_POLICY } from "../../../provider/retry";
import { freePort } from "../../../devstack/ports";

const FAST_RETRY = { ...DEFAULT_RETRY_POLICY, baseDelayMs: 1, maxDelayMs: 4, limit: 3 };
const TOKEN_SECRET = "6f1e2d3c-4b5a-4968-8776-655443322110";
const TOKEN = `ci@pve!launchpad=${TOKEN_SECRET}`;
const PASSWORD = "pa55-word-that-must-not-leak";

interface Seen {
  method: string;
  url: string;
  headers: Record<string, string | string[] | undefined>;
  body: string;
  /** The client's port: which TLS connection carried the request. */
  port: number;
}
type Handler = (req: Seen, res: { send(status: number, body?: unknown, reason?: string): void; raw(status: number, reason: string, contentType: string, text: string): void; drop(): void }) => void;

describe("ProxmoxClient transport", function () {
  let cert: string;
  let fingerprint: string;
  let server: https.Server;
  let endpoint: string;
  let handler: Handler;
  let seen: Seen[];
  /** TLS connections the server accepted in this test: the client's port, and when the connection closed. */
  let accepted: Array<{ port: number; closed: Promise<void> }>;
  const clients: ProxmoxClient[] = [];

  const client = (connection: Partial<ProxmoxConnection> = {}, options: ConstructorParameters<typeof ProxmoxClient>[1] = {}) => {
    const made = new ProxmoxClient({ endpoint, apiToken: TOKEN, fingerprint, ...connection }, { retry: FAST_RETRY, ...options });
    clients.push(made);
    return made;
  };

  before(async () => {
    const pems = await loopbackCertificate("pve-unit.invalid");
    cert = pems.cert;
    fingerprint = pems.fingerprint;
    server = https.createServer({ key: pems.key, cert }, (req, res) => {
      let body = "";
      req.on("data", (chunk) => (body += chunk));
      req.on("end", () => {
        const entry = { method: req.method!, url: req.url!, headers: req.headers, body, port: req.socket.remotePort! };
        seen.push(entry);
        handler(entry, {
          send(status, payload = { data: null }, reason) {
            res.writeHead(status, reason ?? (status === 200 ? "OK" : "error"), { "content-type": "application/json;charset=UTF-8" });
            res.end(JSON.stringify(payload));
          },
          raw(status, reason, contentType, text) {
            res.writeHead(status, reason, contentType ? { "content-type": contentType } : {});
            res.end(text);
          },
          drop: () => req.socket.destroy(),
        });
      });
    });
    server.on("secureConnection", (socket) => {
      accepted.push({ port: socket.remotePort!, closed: new Promise((resolve) => socket.once("close", () => resolve())) });
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    endpoint = `https://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  beforeEach(() => {
    seen = [];
    accepted = [];
    handler = (_req, res) => res.send(200, { data: "ok" });
  });
  afterEach(async () => {
    await Promise.all(clients.splice(0).map((c) => c.close()));
  });
  after(async () => {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  });

  describe("requests", () => {
    it("encodes parameters as Proxmox reads them", () => {
      const form = encodeParams({ vmid: 105, start: true, onboot: false, tags: undefined, pool: null, env: "A=1\0B=2", "ssh-public-keys": "k1\nk2", dev: ["a", "b"] });
      assert.equal(form.toString(), "vmid=105&start=1&onboot=0&env=A%3D1%00B%3D2&ssh-public-keys=k1%0Ak2&dev=a&dev=b");
    });

    it("sends GET parameters in the query and POST parameters as a form, with the API token and no CSRF header", async () => {
      const pve = client();
      assert.equal(await pve.get("/cluster/resources", { type: "vm" }), "ok");
      await pve.post("nodes/pve1/lxc", { vmid: 105, start: true });
      assert.equal(seen[0]!.url, "/api2/json/cluster/resources?type=vm");
      assert.equal(seen[0]!.headers.authorization, `PVEAPIToken=${TOKEN}`);
      assert.equal(seen[1]!.url, "/api2/json/nodes/pve1/lxc");
      assert.equal(seen[1]!.headers["content-type"], "application/x-www-form-urlencoded");
      assert.equal(seen[1]!.body, "vmid=105&start=1");
      assert.equal(seen[1]!.headers.csrfpreventiontoken, undefined);
      assert.equal(pve.requestCount, 2);
    });

    it("under ticket auth logs in once, sends the cookie, adds CSRF on writes only, and renews once on 401", async () => {
      let tickets = 0;
      let refuseNext = false;
      handler = (req, res) => {
        if (req.url === "/api2/json/access/ticket") {
          tickets++;
          return res.send(200, { data: { ticket: `PVE:root@pam:T${tickets}`, CSRFPreventionToken: `C${tickets}`, username: "root@pam" } });
        }
        if (refuseNext) {
          refuseNext = false;
          return res.send(401, { data: null }, "permission denied - invalid PVE ticket");
        }
        res.send(200, { data: req.headers.cookie });
      };
      const pve = client({ apiToken: undefined, username: "root@pam", password: PASSWORD });
      const cookies = await Promise.all([pve.get("/nodes"), pve.get("/version"), pve.put("/nodes/pve1/lxc/105/config", { cores: 2 })]);
      assert.equal(tickets, 1, "concurrent calls share one login");
      assert.deepEqual(cookies, ["PVEAuthCookie=PVE:root@pam:T1", "PVEAuthCookie=PVE:root@pam:T1", "PVEAuthCookie=PVE:root@pam:T1"]);
      const login = seen.find((s) => s.url === "/api2/json/access/ticket")!;
      assert.equal(login.body, `username=root%40pam&password=${PASSWORD}`);
      assert.equal(seen.find((s) => s.method === "GET")!.headers.csrfpreventiontoken, undefined);
      assert.equal(seen.find((s) => s.method === "PUT")!.headers.csrfpreventiontoken, "C1");

      refuseNext = true;
      assert.equal(await pve.post("/nodes/pve1/lxc/105/status/start"), "PVEAuthCookie=PVE:root@pam:T2");
      assert.equal(tickets, 2);
    });

    it("renews a ticket before it gets old", async () => {
      let tickets = 0;
      handler = (req, res) =>
        req.url === "/api2/json/access/ticket"
          ? res.send(200, { data: { ticket: `T${++tickets}`, CSRFPreventionToken: "C", username: "root@pam" } })
          : res.send(200, { data: req.headers.cookie });
      const pve = client({ apiToken: undefined, username: "root@pam", password: PASSWORD }, { ticketRenewAfterMs: 1 });
      await pve.get("/nodes");
      await new Promise((resolve) => setTimeout(resolve, 5));
      assert.equal(await pve.get("/nodes"), "PVEAuthCookie=T2");
    });
  });

  describe("connections", () => {
    it("sends reads and idempotent writes over one kept-alive connection, and each create on a connection of its own", async () => {
      const pve = client();
      await pve.get("/nodes");
      await pve.put("/nodes/pve1/lxc/105/config", { cores: 2 });
      await pve.delete("/nodes/pve1/lxc/106", { purge: 1 });
      await pve.post("/nodes/pve1/lxc", { vmid: 107 });
      await pve.post("/nodes/pve1/lxc", { vmid: 108 });
      await pve.post("/nodes/pve1/lxc/105/status/start", undefined, { idempotent: true });
      const [read, put, del, create1, create2, start] = seen.map((s) => s.port);
      const pooled = [read, put, del, start];
      // Back to back, each read or idempotent write goes out on the connection the one before used: none
      // opens a second connection while the first is idle (each is a handshake, for the client and for PVE).
      assert.equal(new Set(pooled).size, 1, `the pool keeps one connection alive and reuses it: ${pooled}`);
      assert.equal(accepted.length, 3, "one pooled connection and one per create");
      for (const create of [create1, create2]) {
        assert.equal(seen.filter((s) => s.port === create).length, 1, "a create rides a connection that carries nothing else");
      }
      // DELETE, like GET, carries its parameters in the query: PVE reads no body on it.
      assert.deepEqual([seen[2]!.url, seen[2]!.body], ["/api2/json/nodes/pve1/lxc/106?purge=1", ""]);
      assert.deepEqual([seen[1]!.body, seen[1]!.headers["content-type"]], ["cores=2", "application/x-www-form-urlencoded"]);
      assert.equal(seen[5]!.headers["content-type"], undefined, "a write without parameters sends no form");
    });

    it("prepareWrite opens the create's connection ahead, and the create uses that one", async () => {
      const pve = client();
      await pve.get("/nodes");
      pve.prepareWrite();
      while (accepted.length < 2) await new Promise((resolve) => setTimeout(resolve, 5));
      const prepared = accepted[1]!.port;
      await pve.post("/nodes/pve1/lxc", { vmid: 105 });
      assert.equal(seen[1]!.port, prepared);
      assert.equal(accepted.length, 2, "no third connection");
    });

    it("close() leaves no connection open at the server, a prepared one included", async () => {
      const pve = client();
      await pve.get("/nodes");
      await pve.post("/nodes/pve1/lxc", { vmid: 105 });
      pve.prepareWrite();
      while (accepted.length < 3) await new Promise((resolve) => setTimeout(resolve, 5));
      clients.splice(clients.indexOf(pve), 1);
      await pve.close();
      // Within a second: the prepared connection would otherwise linger 2 s, the pooled one 4 s.
      const closed = await Promise.race([Promise.all(accepted.map((a) => a.closed)).then(() => true), new Promise((resolve) => setTimeout(resolve, 1_000, false))]);
      assert.equal(closed, true);
    });
  });

  describe("upload", () => {
    let dir: string;
    before(() => (dir = fs.mkdtempSync(path.join(os.tmpdir(), "client-upload-"))));
    after(() => fs.rmSync(dir, { recursive: true, force: true }));

    it("streams a multipart body of announced length, fields before the file, on a connection of its own; a 5xx is not re-sent", async () => {
      const file = path.join(dir, "image.tar");
      fs.writeFileSync(file, "x".repeat(70_000));
      const pve = client();
      await pve.get("/nodes");
      handler = (_req, res) => res.send(200, { data: "UPID:pve1:00000001:00000002:65F0A1B2:imgcopy::ci@pve!launchpad:" });
      const upid = await pve.upload("/nodes/pve1/storage/local/upload", { content: "vztmpl", "checksum-algorithm": "sha256", checksum: "ab" }, { path: file, name: 'my "app"\r\n.tar' });
      assert.equal(upid, "UPID:pve1:00000001:00000002:65F0A1B2:imgcopy::ci@pve!launchpad:");
      const sent = seen[1]!;
      assert.equal(sent.method, "POST");
      assert.equal(Number(sent.headers["content-length"]), Buffer.byteLength(sent.body), "the announced length is the body's");
      const boundary = /^multipart\/form-data; boundary=(.+)$/.exec(String(sent.headers["content-type"]))![1]!;
      const parts = sent.body.split(`--${boundary}`);
      assert.deepEqual(parts.slice(1, 4).map((part) => /name="([^"]+)"/.exec(part)![1]), ["content", "checksum-algorithm", "checksum"]);
      const [head, content] = [parts[4]!.slice(0, parts[4]!.indexOf("\r\n\r\n") + 4), parts[4]!.slice(parts[4]!.indexOf("\r\n\r\n") + 4)];
      assert.equal(head, '\r\nContent-Disposition: form-data; name="filename"; filename="my _app___.tar"\r\nContent-Type: application/octet-stream\r\n\r\n');
      assert.ok(content === `${"x".repeat(70_000)}\r\n`, "the whole file, then the closing boundary");
      assert.equal(parts[5], "--\r\n");
      assert.notEqual(sent.port, seen[0]!.port, "not on the pooled connection a read used");
      // Nor kept for another request: the client closes it once answered (a pooled one idles 4 s).
      const uploadConnection = accepted.find((a) => a.port === sent.port)!;
      const closed = await Promise.race([uploadConnection.closed.then(() => true), new Promise((resolve) => setTimeout(resolve, 1_000, false))]);
      assert.equal(closed, true, "the upload's connection was closed after its answer");

      seen = [];
      handler = (_req, res) => res.send(500, { data: null }, "got unexpected EOF");
      await assert.rejects(pve.upload("/nodes/pve1/storage/local/upload", { content: "vztmpl" }, { path: file, name: "image.tar" }), /500 got unexpected EOF/);
      assert.equal(seen.length, 1, "an upload that may have arrived is not sent again");
    });

    it("an upload answered too late fails on its own timeout", async () => {
      const file = path.join(dir, "small.tar");
      fs.writeFileSync(file, "x");
      handler = () => undefined;
      const error = (await client().upload("/nodes/pve1/storage/local/upload", { content: "vztmpl" }, { path: file, name: "small.tar" }, { timeoutMs: 150 }).catch((e) => e)) as PveNetworkError;
      assert.match(error.message, /no answer within 150 ms/);
      assert.equal(seen.length, 1);
    });
  });

  describe("login", () => {
    const ticketAuth = { apiToken: undefined, username: "root@pam", password: PASSWORD };
    const logins = () => seen.filter((s) => s.url === "/api2/json/access/ticket").length;
    const loginOr = (answer: (req: Seen, res: Parameters<Handler>[1]) => void): Handler => (req, res) =>
      req.url === "/api2/json/access/ticket" ? res.send(200, { data: { ticket: `PVE:root@pam:T${logins()}`, CSRFPreventionToken: "C", username: "root@pam" } }) : answer(req, res);

    it("fails with a configuration error, sending nothing, when there is neither a token nor a password", async () => {
      const error = await client({ apiToken: undefined, username: "root@pam" }).get("/nodes").catch((e) => e);
      assert.ok(isLaunchpadError(error, "ERR_CONFIG"), String(error));
      assert.match(error.message, /neither an apiToken nor a username and password/);
      assert.equal(seen.length, 0);
    });

    it("retries a login answered 503 (pveproxy restarting), since a login creates nothing", async () => {
      let refused = 0;
      handler = (req, res) => (req.url === "/api2/json/access/ticket" && refused++ < 2 ? res.send(503, { data: null }, "Service Unavailable") : loginOr((_r, s) => s.send(200, { data: "ok" }))(req, res));
      assert.equal(await client(ticketAuth).post("/nodes/pve1/lxc", { vmid: 105 }), "ok");
      assert.deepEqual(seen.map((s) => s.url), ["/api2/json/access/ticket", "/api2/json/access/ticket", "/api2/json/access/ticket", "/api2/json/nodes/pve1/lxc"]);
    });

    it("a login answered without a ticket is an error saying so, not a request without credentials", async () => {
      for (const data of [null, { username: "root@pam", ticket: "PVE:root@pam:T" }, { username: "root@pam", CSRFPreventionToken: "C" }]) {
        seen = [];
        handler = (req, res) => (req.url === "/api2/json/access/ticket" ? res.send(200, { data }) : res.send(200, { data: "ok" }));
        const error = await client(ticketAuth).post("/nodes/pve1/lxc").catch((e) => e);
        assert.ok(isLaunchpadError(error, "ERR_PVE_HTTP"), String(error));
        assert.match(error.message, /POST \/access\/ticket failed: 200 login answered without a ticket/);
        assert.deepEqual(seen.map((s) => s.url), ["/api2/json/access/ticket"]);
      }
    });

    it("logs in again only for a 401, once: a ticket refused twice is the error, a 403 is never a reason to log in", async () => {
      handler = loginOr((_req, res) => res.send(401, { data: null }, "permission denied - invalid PVE ticket"));
      const refused = (await client(ticketAuth).get("/nodes").catch((e) => e)) as PveHttpError;
      assert.equal(refused.status, 401);
      assert.equal(refused.pveMessage, "permission denied - invalid PVE ticket");
      assert.deepEqual(seen.map((s) => s.url), ["/api2/json/access/ticket", "/api2/json/nodes", "/api2/json/access/ticket", "/api2/json/nodes"]);
      seen = [];
      handler = loginOr((_req, res) => res.send(403, { data: null }, "Permission check failed (/nodes/pve1, Sys.Audit)"));
      const forbidden = (await client(ticketAuth).get("/nodes/pve1/status").catch((e) => e)) as PveHttpError;
      assert.equal(forbidden.status, 403);
      assert.deepEqual(forbidden.missing, { path: "/nodes/pve1", privileges: ["Sys.Audit"] });
      assert.equal(logins(), 1);
      assert.equal(seen.length, 2);
    });
  });

  describe("answers", () => {
    it("a 2xx that is not JSON (a portal page in front of the API) is an error naming its content type", async () => {
      handler = (_req, res) => res.raw(200, "OK", "text/html", "<html><body>Please log in</body></html>");
      const error = (await client().get("/nodes").catch((e) => e)) as PveHttpError;
      assert.ok(isLaunchpadError(error, "ERR_PVE_HTTP"), String(error));
      assert.match(error.message, /GET \/nodes failed: 200 unreadable response body \(text\/html\)/);
      // Cut short by a proxy, or JSON that is no object: still no answer.
      for (const text of ['{"data": [', "null", '"ok"']) {
        handler = (_req, res) => res.raw(200, "OK", "application/json;charset=UTF-8", text);
        assert.match(String(await client().get("/nodes").catch((e) => e)), /unreadable response body \(application\/json;charset=UTF-8\)/, text);
      }
    });

    it("reads a JSON body whatever its content type, and an empty 2xx is no answer", async () => {
      handler = (_req, res) => res.raw(200, "OK", "text/plain", '\n  {"data":["pve1"]}');
      assert.deepEqual(await client().get("/nodes"), ["pve1"]);
      handler = (_req, res) => res.raw(200, "OK", "", "");
      assert.match(String(await client().get("/nodes").catch((e) => e)), /unreadable response body \(no content type\)/);
    });

    it("a 5xx from a proxy in front of PVE reports its reason phrase, not its HTML; with none, the status", async () => {
      handler = (_req, res) => res.raw(502, "Bad Gateway", "text/html", "<html><h1>502 Bad Gateway</h1></html>");
      const bad = (await client().post("/nodes/pve1/lxc", { vmid: 105 }).catch((e) => e)) as PveHttpError;
      assert.deepEqual([bad.status, bad.pveMessage], [502, "Bad Gateway"]);
      assert.deepEqual(bad.context, { endpoint, reason: "Bad Gateway" });
      handler = (_req, res) => res.raw(502, "", "application/json", '{"data":null}');
      const bare = (await client().post("/nodes/pve1/lxc", { vmid: 105 }).catch((e) => e)) as PveHttpError;
      assert.match(bare.message, /POST \/nodes\/pve1\/lxc failed: 502 HTTP 502$/);
    });

    it("takes the message from the body before the reason phrase, and keeps non-text parameter errors readable", async () => {
      handler = (_req, res) => res.send(400, { data: null, message: "  unable to parse value\n", errors: { cores: { min: 1 } } }, "Parameter verification failed.");
      const error = (await client().post("/nodes/pve1/lxc", { vmid: 105 }).catch((e) => e)) as PveHttpError;
      assert.equal(error.pveMessage, "unable to parse value");
      assert.deepEqual(error.errors, { cores: '{"min":1}' });
      for (const errors of [["not", "a", "record"], null, "not a record"]) {
        handler = (_req, res) => res.send(400, { data: null, errors }, "Parameter verification failed.");
        const odd = (await client().post("/nodes/pve1/lxc").catch((e) => e)) as PveHttpError;
        assert.deepEqual([odd.status, odd.pveMessage, odd.errors], [400, "Parameter verification failed.", {}]);
      }
    });
  });

  describe("errors", () => {
    it("carries status, Proxmox's message and per-parameter errors", async () => {
      handler = (_req, res) => res.send(400, { data: null, message: "Parameter verification failed.\n", errors: { net0: "invalid format - missing key 'name'\n" } }, "Parameter verification failed.");
      const error = await client().post("/nodes/pve1/lxc", { vmid: 105, net0: "bogus" }).catch((e) => e);
      assert.ok(isLaunchpadError(error, "ERR_PVE_HTTP"));
      assert.equal((error as PveHttpError).status, 400);
      assert.equal((error as PveHttpError).pveMessage, "Parameter verification failed.");
      assert.match((error as PveHttpError).errors.net0!, /missing key 'name'/);
      assert.match(error.message, /POST \/nodes\/pve1\/lxc failed: 400 Parameter verification failed\. \(net0: invalid format/);
      assert.equal(seen.length, 1, "a 400 is not retried");
    });

    it("reads the message from the reason phrase when the body has none, and never retries 401/403", async () => {
      handler = (_req, res) => res.send(401, { data: null }, "permission denied - invalid token value!");
      const error = (await client().get("/nodes").catch((e) => e)) as PveHttpError;
      assert.equal(error.status, 401);
      assert.equal(error.pveMessage, "permission denied - invalid token value!");
      assert.equal(seen.length, 1);
    });

    it("retries a 5xx GET, but not a 5xx create", async () => {
      let calls = 0;
      handler = (_req, res) => (++calls === 1 ? res.send(500, { data: null }, "internal error") : res.send(200, { data: "ok" }));
      assert.equal(await client().get("/nodes"), "ok");
      assert.equal(calls, 2);
      calls = 0;
      handler = (_req, res) => res.send(500, { data: null }, "unable to create CT 105 - storage full");
      const error = (await client().post("/nodes/pve1/lxc", { vmid: 105 }).catch((e) => e)) as PveHttpError;
      assert.equal(error.status, 500);
      assert.equal(seen.filter((s) => s.method === "POST").length, 1);
    });

    it("retries lock contention even for a non-idempotent POST", async () => {
      let calls = 0;
      handler = (_req, res) =>
        ++calls < 3 ? res.send(500, { data: null }, "can't lock file '/run/lock/lxc/pve-config-105.lock' - got timeout") : res.send(200, { data: "done" });
      assert.equal(await client().post("/nodes/pve1/lxc/105/status/start"), "done");
      assert.equal(calls, 3);
    });

    it("does not re-send a create whose connection dropped after the server read it (notSent=false)", async () => {
      handler = (_req, res) => res.drop();
      const error = (await client().post("/nodes/pve1/lxc", { vmid: 105 }).catch((e) => e)) as PveNetworkError;
      assert.ok(isLaunchpadError(error, "ERR_PVE_NETWORK"), String(error));
      assert.equal(error.notSent, false);
      assert.match(error.message, /may have reached the server/);
      assert.equal(seen.length, 1);
    });

    it("re-sends a read whose connection dropped", async () => {
      let calls = 0;
      handler = (_req, res) => (++calls === 1 ? res.drop() : res.send(200, { data: "ok" }));
      assert.equal(await client().get("/nodes"), "ok");
      assert.equal(calls, 2);
    });

    it("reports a refused connection as notSent, so even a create may be re-sent", async () => {
      const port = await freePort();
      const reported: RequestInfo[] = [];
      const began = performance.now();
      const pve = client({ endpoint: `https://127.0.0.1:${port}` }, { onRequest: (info) => reported.push(info) });
      const error = (await pve.post("/nodes/pve1/lxc", { vmid: 105 }).catch((e) => e)) as PveNetworkError;
      const took = performance.now() - began;
      assert.ok(isLaunchpadError(error, "ERR_PVE_NETWORK"));
      assert.equal(error.notSent, true);
      assert.match(error.message, /^Proxmox POST \/nodes\/pve1\/lxc at https:\/\/127\.0\.0\.1:\d+: connect ECONNREFUSED 127\.0\.0\.1:\d+$/);
      assert.equal(seen.length, 0);
      // Every attempt is reported, with status 0 for "no response", and a duration within the call's.
      assert.equal(reported.length, FAST_RETRY.limit + 1);
      assert.ok(reported.every((info) => info.method === "POST" && info.path === "/nodes/pve1/lxc" && info.status === 0 && info.ms >= 0 && info.ms <= took + 1), JSON.stringify(reported));
    });

    it("times out a request that gets no answer", async () => {
      handler = () => undefined;
      const error = (await client({ timeoutMs: 200 }).post("/nodes/pve1/lxc", { vmid: 105 }).catch((e) => e)) as PveNetworkError;
      assert.ok(isLaunchpadError(error, "ERR_PVE_NETWORK"));
      assert.equal(error.notSent, false);
      assert.match(error.message, /^Proxmox POST \/nodes\/pve1\/lxc at https:\/\/127\.0\.0\.1:\d+: no answer within 200 ms \(the request may have reached the server\)$/);
    });

    it("an https endpoint at a plain-HTTP port fails before sending, in one line naming the TLS error", async () => {
      const plain = http.createServer((_req, res) => res.end("plain"));
      await new Promise<void>((resolve) => plain.listen(0, "127.0.0.1", resolve));
      try {
        const pve = client({ endpoint: `https://127.0.0.1:${(plain.address() as AddressInfo).port}` });
        const error = (await pve.post("/nodes/pve1/lxc", { vmid: 105 }).catch((e) => e)) as PveNetworkError;
        assert.ok(isLaunchpadError(error, "ERR_PVE_NETWORK"), String(error));
        assert.equal(error.notSent, true);
        assert.match(error.message, /wrong version number.*\(ERR_SSL_WRONG_VERSION_NUMBER\)$/);
        assert.doesNotMatch(error.message, /\n/);
        assert.equal(pve.requestCount, FAST_RETRY.limit + 1, "nothing was sent, so even a create is tried again");
      } finally {
        plain.closeAllConnections();
        await new Promise((resolve) => plain.close(resolve));
      }
    });

    it("a connection dropped mid-request names undici's code and says the request may have arrived", async () => {
      handler = (_req, res) => res.drop();
      const error = (await client().post("/nodes/pve1/lxc", { vmid: 105 }).catch((e) => e)) as PveNetworkError;
      assert.match(error.message, /^Proxmox POST \/nodes\/pve1\/lxc at https:\/\/127\.0\.0\.1:\d+: other side closed \(UND_ERR_SOCKET\) \(the request may have reached the server\)$/);
      assert.equal(error.context.code, "UND_ERR_SOCKET");
    });

    it("a task log that cannot be read never hides the task's own failure", async () => {
      const upid = "UPID:pve1:00001234:00005678:65F0A1B2:vzcreate:105:ci@pve!launchpad:";
      handler = (req, res) =>
        req.url.includes("/status") ? res.send(200, { data: { status: "stopped", exitstatus: "unable to create CT 105 - disk full" } }) : res.send(500, { data: null }, "got unexpected EOF");
      const error = (await client().waitForTask(upid).catch((e) => e)) as PveTaskError;
      assert.ok(isLaunchpadError(error, "ERR_PVE_TASK"), String(error));
      assert.equal(error.exitstatus, "unable to create CT 105 - disk full");
      assert.equal(error.log.length, 1);
      assert.match(error.log[0]!, /^\(task log unavailable: Proxmox GET \/nodes\/pve1\/tasks\/UPID%3Apve1%3A.*\/log failed: 500 got unexpected EOF\)$/);
      assert.equal(seen.filter((s) => s.url.includes("/log")).length, FAST_RETRY.limit + 1, "the log read is retried like any read");
    });

    it("reads a log of up to 5000 lines in one read, and keeps its last 20 lines", async () => {
      const upid = "UPID:pve1:00001234:00005678:65F0A1B2:vzstart:105:ci@pve!launchpad:";
      const lines = [...Array.from({ length: 29 }, (_, i) => ({ n: i + 1, t: `step ${i + 1}` })), { n: 30, t: "TASK ERROR: startup for container '105' failed" }];
      handler = (req, res) =>
        req.url.includes("/status")
          ? res.send(200, { data: { status: "stopped", exitstatus: "startup for container '105' failed" } })
          : res.send(200, { data: lines, total: lines.length });
      const error = (await client().waitForTask(upid).catch((e) => e)) as PveTaskError;
      assert.deepEqual(error.log, lines.slice(-20).map((line) => line.t));
      assert.deepEqual(seen.filter((s) => s.url.includes("/log")).map((s) => new URL(s.url, endpoint).search), ["?start=0&limit=5000"]);
    });

    it("reads the tail of a long task log when the task fails", async () => {
      const upid = "UPID:pve1:00001234:00005678:65F0A1B2:vzcreate:105:ci@pve!launchpad:";
      const lines = Array.from({ length: 80 }, (_, i) => ({ n: i + 1, t: `line ${i + 1}` }));
      handler = (req, res) => {
        const url = new URL(req.url, "https://x");
        if (url.pathname.endsWith("/status")) return res.send(200, { data: { status: "stopped", exitstatus: "unable to create CT 105 - disk full" } });
        const start = Number(url.searchParams.get("start"));
        const limit = Number(url.searchParams.get("limit"));
        // As PVE: at most `limit` lines from `start`, and the total line count beside `data`.
        res.send(200, { data: lines.slice(start, start + Math.min(limit, 50)), total: lines.length });
      };
      const error = (await client().waitForTask(upid).catch((e) => e)) as PveTaskError;
      assert.ok(isLaunchpadError(error, "ERR_PVE_TASK"));
      assert.equal(error.exitstatus, "unable to create CT 105 - disk full");
      assert.deepEqual(error.log, lines.slice(-20).map((l) => l.t));
      assert.match(error.message, /line 80$/);
    });
  });

  describe("TLS", () => {
    it("accepts the server whose fingerprint is pinned, in any case", async () => {
      assert.equal(await client({ fingerprint: fingerprint.toLowerCase().toUpperCase() }).get("/nodes"), "ok");
    });

    it("refuses a server with another fingerprint before sending anything, naming expected and got", async () => {
      const wrong = fingerprint.replace(/^../, fingerprint.startsWith("00") ? "11" : "00");
      const pve = client({ fingerprint: wrong });
      const error = (await pve.post("/nodes/pve1/lxc", { vmid: 105 }).catch((e) => e)) as PveNetworkError;
      assert.ok(isLaunchpadError(error, "ERR_PVE_NETWORK"), String(error));
      assert.equal(error.notSent, true);
      assert.equal(pve.requestCount, 1, "a pin mismatch is not retried: no retry can fix it");
      assert.ok(error.message.includes(`expected ${wrong}, got ${fingerprint}`), error.message);
      assert.doesNotMatch(error.message, /ERR_LAUNCHPAD/, "no internal code in the message");
      assert.equal(seen.length, 0);
    });

    it("accepts the server signed by the pinned CA", async () => {
      assert.equal(await client({ fingerprint: undefined, caCert: cert }).get("/nodes"), "ok");
    });

    it("refuses a self-signed server when nothing is pinned, saying how to pin", async () => {
      const pve = client({ fingerprint: undefined });
      const error = (await pve.get("/nodes").catch((e) => e)) as PveNetworkError;
      assert.ok(isLaunchpadError(error, "ERR_PVE_NETWORK"), String(error));
      assert.equal(error.notSent, true);
      assert.equal(pve.requestCount, 1, "a verification failure is not retried");
      assert.match(error.message, /TLS verification failed: self[- ]signed certificate/);
      assert.match(error.message, /launchpad:fingerprint/);
      assert.equal(seen.length, 0);
    });

    it("skips verification only when insecure is asked for", async () => {
      assert.equal(await client({ fingerprint: undefined, insecure: true }).get("/nodes"), "ok");
    });
  });

  describe("secrets", () => {
    it("never shows the token or password in errors, JSON or inspection of the client", async () => {
      handler = (_req, res) => res.send(401, { data: null, message: `bad credentials PVEAPIToken=${TOKEN} password=${PASSWORD}` }, "permission denied");
      const tokenClient = client();
      const passwordClient = client({ apiToken: undefined, username: "root@pam", password: PASSWORD });
      const port = await freePort();
      const errors = (await Promise.all([
        tokenClient.get("/nodes").catch((e: Error) => e),
        passwordClient.get("/nodes").catch((e: Error) => e),
        client({ endpoint: `https://127.0.0.1:${port}` }).post("/nodes/pve1/lxc").catch((e: Error) => e),
        client({ endpoint: `https://127.0.0.1:${port}`, apiToken: undefined, username: "root@pam", password: PASSWORD }).get("/nodes").catch((e: Error) => e),
      ])) as Error[];
      for (const text of [
        ...errors.flatMap((e) => [e.message, String(e.stack), JSON.stringify(e), util.inspect(e, { depth: 5 })]),
        String(JSON.stringify(tokenClient)),
        util.inspect(tokenClient),
        util.inspect(passwordClient),
      ]) {
        assert.ok(!text.includes(TOKEN_SECRET), `token secret leaked: ${text}`);
        assert.ok(!text.includes(PASSWORD), `password leaked: ${text}`);
      }
    });
  });
});
