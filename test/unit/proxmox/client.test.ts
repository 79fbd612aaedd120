// The client's transport against a bare HTTPS server the test scripts request by request: auth headers,
// encoding, error fields, TLS pinning, what is and is not re-sent. The Proxmox-shaped behaviour
// (tasks, locks, validation) is covered against the sandbox in test/integration/proxmox-client.test.ts.
import { strict as assert } from "assert";
import * as crypto from "crypto";
import * as https from "https";
import type { AddressInfo } from "net";
import * as util from "util";
import selfsigned = require("selfsigned");
import { isLaunchpadError, PveHttpError, PveNetworkError, PveTaskError } from "../../../provider/errors";
import { encodeParams, ProxmoxClient, type ProxmoxConnection } from "../../../provider/proxmox";
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
}
type Handler = (req: Seen, res: { send(status: number, body?: unknown, reason?: string): void; drop(): void }) => void;

describe("ProxmoxClient transport", function () {
  let cert: string;
  let fingerprint: string;
  let server: https.Server;
  let endpoint: string;
  let handler: Handler;
  let seen: Seen[];
  const clients: ProxmoxClient[] = [];

  const client = (connection: Partial<ProxmoxConnection> = {}, options: ConstructorParameters<typeof ProxmoxClient>[1] = {}) => {
    const made = new ProxmoxClient({ endpoint, apiToken: TOKEN, fingerprint, ...connection }, { retry: FAST_RETRY, ...options });
    clients.push(made);
    return made;
  };

  before(async () => {
    const pems = await selfsigned.generate([{ name: "commonName", value: "pve-unit.invalid" }], {
      keyType: "ec",
      curve: "P-256",
      algorithm: "sha256",
      extensions: [{ name: "subjectAltName", altNames: [{ type: 7, ip: "127.0.0.1" }] }],
    } as never);
    cert = pems.cert;
    fingerprint = new crypto.X509Certificate(cert).fingerprint256;
    server = https.createServer({ key: pems.private, cert }, (req, res) => {
      let body = "";
      req.on("data", (chunk) => (body += chunk));
      req.on("end", () => {
        const entry = { method: req.method!, url: req.url!, headers: req.headers, body };
        seen.push(entry);
        handler(entry, {
          send(status, payload = { data: null }, reason) {
            res.writeHead(status, reason ?? (status === 200 ? "OK" : "error"), { "content-type": "application/json;charset=UTF-8" });
            res.end(JSON.stringify(payload));
          },
          drop: () => req.socket.destroy(),
        });
      });
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    endpoint = `https://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  beforeEach(() => {
    seen = [];
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
      const error = (await client({ endpoint: `https://127.0.0.1:${port}` }).post("/nodes/pve1/lxc", { vmid: 105 }).catch((e) => e)) as PveNetworkError;
      assert.ok(isLaunchpadError(error, "ERR_PVE_NETWORK"));
      assert.equal(error.notSent, true);
      assert.match(error.message, /ECONNREFUSED/);
      assert.equal(seen.length, 0);
    });

    it("times out a request that gets no answer", async () => {
      handler = () => undefined;
      const error = (await client({ timeoutMs: 200 }).post("/nodes/pve1/lxc", { vmid: 105 }).catch((e) => e)) as PveNetworkError;
      assert.ok(isLaunchpadError(error, "ERR_PVE_NETWORK"));
      assert.equal(error.notSent, false);
      assert.match(error.message, /no answer within 200 ms/);
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
