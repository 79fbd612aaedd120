// ProxyRoute refresh drift, table-driven, through the real dynamic-provider host: each row changes
// what one route put on the proxy host (its nginx file, its htpasswd), by hand, out of band; refresh
// must show it, and the next up must put the program's files back and serve again.
import { strict as assert } from "assert";
import * as fs from "fs";
import * as http from "http";
import * as net from "net";
import { ProxyRoute } from "../../src/proxyRoute";
import { TestEngine } from "../../devstack/engine";
import { startNginx, type TestNginx } from "../../devstack/nginx";
import { eventually } from "../../devstack/probes";
import { startSshd, type TestSshd } from "../../devstack/sshd";
import { proxyHost } from "../../devstack/proxy-host";
import { reservePortBlock, type PortBlock } from "../support/ports";

const PASSWORD = "drift-password-1";

interface Row {
  /** The route's resource name (one route per row). */
  name: string;
  /** The out-of-band change, given the route's files. */
  drift: (files: { config: string; htpasswd: string }) => void;
  /** After refresh: `gone` (refresh dropped it), or the configSha256 refresh must report. */
  refreshed: "gone" | "changed" | "htpasswd-missing" | "htpasswd-changed";
}

const ROWS: Row[] = [
  { name: "target-port", drift: ({ config }) => fs.writeFileSync(config, fs.readFileSync(config, "utf8").replace(/127\.0\.0\.1:\d+/g, "127.0.0.1:9")), refreshed: "changed" },
  { name: "file-removed", drift: ({ config }) => fs.rmSync(config), refreshed: "gone" },
  { name: "htpasswd-removed", drift: ({ htpasswd }) => fs.rmSync(htpasswd), refreshed: "htpasswd-missing" },
  // A hand-made user with a known password (SHA-512-crypt of "x"), in place of ours.
  { name: "htpasswd-edited", drift: ({ htpasswd }) => fs.writeFileSync(htpasswd, "intruder:$6$saltsalt$8RWsOfwR6M6PpnoeQiEiWzNTPo1f0HjVYjDnLZhGx16aBFRkeqiHAzfXP/LgrOWMBMXqiU2pLrXsSOHNUyUm91\n"), refreshed: "htpasswd-changed" },
  { name: "stream-port", drift: ({ config }) => fs.writeFileSync(config, fs.readFileSync(config, "utf8").replace(/listen (\S*?:)?(\d+)/, (_m, address, port) => `listen ${address ?? ""}${Number(port) + 1}`)), refreshed: "changed" },
];

describe("ProxyRoute refresh drift, row by row (real host, nginx, OpenSSH)", function () {
  this.timeout(300_000);
  let nginx: TestNginx | undefined;
  let sshd: TestSshd | undefined;
  let backend: http.Server;
  let engine: TestEngine | undefined;
  let ports: PortBlock;

  before(async function () {
    nginx = await startNginx(this);
    sshd = await startSshd(this);
    backend = http.createServer((_req, res) => res.end("backend ok"));
    await new Promise<void>((resolve) => backend.listen(0, "127.0.0.1", () => resolve()));
    ports = await reservePortBlock();
  });
  after(async () => {
    ports?.release();
    await engine?.close();
    backend?.close();
    await nginx?.stop();
    await sshd?.stop();
  });

  const proxy = () => ({
    ...proxyHost(sshd!, nginx!), privateKey: sshd!.privateKey,
  });
  const target = () => ({ host: "127.0.0.1", port: (backend.address() as net.AddressInfo).port });
  const answer = (hostname: string, auth?: string) => new Promise<string>((resolve, reject) => {
    http.get({ host: "127.0.0.1", port: nginx!.httpPort, path: "/", headers: { host: hostname }, ...(auth ? { auth } : {}) }, (res) => {
      let body = "";
      res.on("data", (c) => (body += c)).on("end", () => resolve(`${res.statusCode} ${body}`));
    }).on("error", reject);
  });
  const hostnameOf = (row: Row) => `${row.name}.drift.test`;

  it("shows each out-of-band change after refresh, and the next up puts the program's files back", async () => {
    engine = new TestEngine({ project: "launchpad-proxy-drift", stack: "drift" });
    const streamFrom = ports.from;
    const program = () => {
      for (const row of ROWS) {
        if (row.name === "stream-port") {
          new ProxyRoute(row.name, { proxy: proxy(), stream: { protocol: "tcp", portRange: { from: streamFrom, to: streamFrom + 9 }, target: target() } });
          continue;
        }
        new ProxyRoute(row.name, {
          proxy: proxy(),
          http: { hostname: hostnameOf(row), target: target(), tls: "none", access: { basicAuth: { users: [{ name: "team", password: PASSWORD }] } } },
        });
      }
    };
    await engine.up(program);
    const before = new Map(ROWS.map((row) => [row.name, engine!.resource(row.name)!.plainOutputs]));
    const files = (row: Row) => ({ config: String(before.get(row.name)!.configPath), htpasswd: `${nginx!.confDir}/auth/${hostnameOf(row)}.htpasswd` });
    const written = new Map(ROWS.map((row) => [row.name, fs.readFileSync(files(row).config, "utf8")]));
    for (const row of ROWS.filter((r) => r.name !== "stream-port")) {
      assert.equal(await eventually(() => answer(hostnameOf(row), `team:${PASSWORD}`)), "200 backend ok", row.name);
    }

    for (const row of ROWS) row.drift(files(row));
    const refreshed = await engine.refresh();
    const seen = ROWS.map((row) => {
      const now = engine!.resource(row.name)?.plainOutputs;
      if (!now) return `${row.name}: gone`;
      const sha = String(now.configSha256);
      return `${row.name}: ${sha === before.get(row.name)!.configSha256 ? "unchanged" : sha.startsWith("htpasswd-") ? sha : "changed"}`;
    });
    assert.deepEqual(seen, ROWS.map((row) => `${row.name}: ${row.refreshed}`), "what refresh read back");
    assert.deepEqual(refreshed.operations.filter((o) => o.op !== "same").map((o) => `${o.name}:${o.op}`).sort(),
      ROWS.map((row) => `${row.name}:${row.refreshed === "gone" ? "delete" : "update"}`).sort());

    const restored = await engine.up(program);
    assert.deepEqual(restored.operations.filter((o) => o.op !== "same").map((o) => `${o.name}:${o.op}`).sort(),
      ROWS.map((row) => `${row.name}:${row.refreshed === "gone" ? "create" : "update"}`).sort(), "the next up acts on every drifted route");
    const notRestored = ROWS.filter((row) => fs.readFileSync(String(engine!.resource(row.name)!.plainOutputs.configPath), "utf8") !== written.get(row.name));
    assert.deepEqual(notRestored.map((r) => r.name), [], "route files the next up did not put back");
    for (const row of ROWS.filter((r) => r.name !== "stream-port")) {
      assert.equal(await eventually(() => answer(hostnameOf(row), `team:${PASSWORD}`)), "200 backend ok", `${row.name} serves the program's user again`);
      assert.equal((await answer(hostnameOf(row), "intruder:x")).slice(0, 3), "401", `${row.name}: the hand-made user is gone`);
    }
    // A second refresh finds nothing: the files are the program's.
    const again = await engine.refresh();
    assert.deepEqual(again.operations.filter((o) => o.op !== "same").map((o) => `${o.name}:${o.op}`), []);

    await engine.destroy();
    assert.deepEqual(fs.readdirSync(`${nginx!.confDir}/http`).filter((f) => f.endsWith(".conf") && !f.startsWith("_")), []);
    assert.equal((await nginx!.test()).ok, true);
  });
});
