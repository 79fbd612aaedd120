// ProxyRoute's safety rules through the real dynamic-provider host (not the hooks): a route nginx -t
// rejects is rolled back on create and on update while the other routes keep serving, and a proxy
// whose host key does not match its pin is refused before anything is written.
import { strict as assert } from "assert";
import * as crypto from "crypto";
import * as fs from "fs";
import * as http from "http";
import * as net from "net";
import { ProxyRoute } from "../../src/proxyRoute";
import { TestEngine } from "../../devstack/engine";
import { startNginx, type TestNginx } from "../../devstack/nginx";
import { eventually } from "../../devstack/probes";
import { startSshd, type TestSshd } from "../../devstack/sshd";
import { proxyHost } from "../../devstack/proxy-host";

describe("ProxyRoute rollback and host key, through the real host", function () {
  this.timeout(300_000);
  let nginx: TestNginx | undefined;
  let sshd: TestSshd | undefined;
  let backend: http.Server;
  const engines: TestEngine[] = [];

  before(async function () {
    nginx = await startNginx(this);
    sshd = await startSshd(this);
    backend = http.createServer((_req, res) => res.end("backend ok"));
    await new Promise<void>((resolve) => backend.listen(0, "127.0.0.1", () => resolve()));
  });
  after(async () => {
    for (const engine of engines) await engine.close();
    backend?.close();
    await nginx?.stop();
    await sshd?.stop();
  });

  const proxy = (hostKeyFingerprint = sshd!.hostKeyFingerprint) => ({
    ...proxyHost(sshd!, nginx!), privateKey: sshd!.privateKey, hostKeyFingerprint,
  });
  const target = () => ({ host: "127.0.0.1", port: (backend.address() as net.AddressInfo).port });
  const answer = (hostname: string) => new Promise<string>((resolve, reject) => {
    http.get({ host: "127.0.0.1", port: nginx!.httpPort, path: "/", headers: { host: hostname } }, (res) => {
      let body = "";
      res.on("data", (c) => (body += c)).on("end", () => resolve(`${res.statusCode} ${body}`));
    }).on("error", reject);
  });
  const newEngine = (stack: string) => {
    const engine = new TestEngine({ project: "launchpad-proxy-rules", stack });
    engines.push(engine);
    return engine;
  };

  it("rolls back a route nginx -t rejects, on create and on update; the other route keeps serving", async () => {
    const engine = newEngine("rollback");
    const good = { hostname: "good.rules.test", target: target(), tls: "none" as const };
    const broken = { certificate: `${nginx!.dir}/missing.crt`, key: nginx!.key };
    await engine.up(() => { new ProxyRoute("good", { proxy: proxy(), http: good }); });
    assert.equal(await eventually(() => answer("good.rules.test")), "200 backend ok");
    const goodFile = engine.resource("good")!.plainOutputs.configPath as string;
    const goodText = fs.readFileSync(goodFile, "utf8");

    // Create: a second route nginx refuses.
    const created = await engine.up(() => {
      new ProxyRoute("good", { proxy: proxy(), http: good });
      new ProxyRoute("bad", { proxy: proxy(), http: { hostname: "bad.rules.test", target: target(), tls: broken } });
    }).then(() => undefined, (e: Error) => e);
    assert.ok(created, "the create fails");
    assert.match(created.message, /nginx -t rejected|missing\.crt/);
    assert.ok(!fs.existsSync(`${nginx!.confDir}/http/bad.rules.test.conf`), "the rejected file is gone");
    assert.equal(engine.resource("bad"), undefined, "nothing recorded for the rejected route");

    // Update: the serving route changed into one nginx refuses: the old file comes back.
    const updated = await engine.up(() => { new ProxyRoute("good", { proxy: proxy(), http: { ...good, tls: broken } }); }).then(() => undefined, (e: Error) => e);
    assert.ok(updated, "the update fails");
    assert.match(updated.message, /nginx -t rejected|missing\.crt/);
    assert.equal(fs.readFileSync(goodFile, "utf8"), goodText, "the previous file is put back");
    assert.equal((await nginx!.test()).ok, true);
    assert.equal(await answer("good.rules.test"), "200 backend ok", "the other route kept serving");

    await engine.up(() => { new ProxyRoute("good", { proxy: proxy(), http: good }); });
    await engine.destroy();
    assert.deepEqual(fs.readdirSync(`${nginx!.confDir}/http`).filter((f) => f.endsWith(".conf") && !f.startsWith("_")), []);
  });

  it("refuses a proxy host whose key does not match the pin, naming both fingerprints, writing nothing", async () => {
    const engine = newEngine("hostkey");
    const wrong = "SHA256:" + crypto.createHash("sha256").update("not the host key").digest("base64").replace(/=+$/, "");
    const error = await engine.up(() => {
      new ProxyRoute("never", { proxy: proxy(wrong), http: { hostname: "never.rules.test", target: target(), tls: "none" } });
    }).then(() => undefined, (e: Error) => e);
    assert.ok(error, "the up fails");
    assert.ok(error.message.includes(wrong) && error.message.includes(sshd!.hostKeyFingerprint), error.message);
    assert.ok(!error.message.includes("PRIVATE KEY"));
    assert.ok(!fs.existsSync(`${nginx!.confDir}/http/never.rules.test.conf`));
    assert.equal(engine.resource("never"), undefined);
  });
});
