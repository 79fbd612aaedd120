// AcmeCertificate through the real dynamic-provider host, against a real ACME server (Pebble) whose
// validation asks the test PowerDNS and connects to the test nginx; the proxy host is reached over
// a real OpenSSH server. Issue, renew, drift, failures that leave nothing behind, a DNS-01 wildcard
// served to two names with SNI, and a state that holds no private key.

import * as assert from "assert";
import * as crypto from "crypto";
import * as fs from "fs";
import * as http from "http";
import * as https from "https";
import * as net from "net";
import * as tls from "tls";
import { startSandbox, type Sandbox } from "../../sandbox";
import { AcmeCertificate } from "../../src/acmeCertificate";
import { PreviewEnvironment } from "../../src/preview";
import { ProxyRoute } from "../../src/proxyRoute";
import { requireBinary } from "../../devstack/binaries";
import { EngineError, isSecretWire, TestEngine, proxmoxConfig } from "../../devstack/engine";
import { startNginx, type TestNginx } from "../../devstack/nginx";
import { PowerDnsServer, type PdnsTsigKey } from "../../devstack/pdns";
import { startPebble, type TestPebble } from "../../devstack/pebble";
import { startSshd, type TestSshd } from "../../devstack/sshd";
import { TEMPLATE } from "../unit/container/fixtures";
import { proxyHost } from "../../devstack/proxy-host";

const TSIG: PdnsTsigKey = { name: "launchpad-acme", algorithm: "hmac-sha256", secret: crypto.randomBytes(32).toString("base64") };

interface Served { status: number; body: string; certificate: tls.PeerCertificate }

function httpsGet(port: number, hostname: string, ca: string): Promise<Served> {
  return new Promise((resolve, reject) => {
    const req = https.request({ host: "127.0.0.1", port, path: "/", servername: hostname, headers: { host: hostname }, ca, agent: false }, (res) => {
      const certificate = (res.socket as tls.TLSSocket).getPeerCertificate();
      let body = "";
      res.on("data", (c) => { body += c; });
      res.on("end", () => resolve({ status: res.statusCode!, body, certificate }));
    });
    req.on("error", reject);
    req.end();
  });
}

describe("AcmeCertificate on Pebble, PowerDNS and nginx, through the real provider host", function () {
  this.timeout(600_000);
  let nginx: TestNginx | undefined;
  let sshd: TestSshd | undefined;
  let pdns: PowerDnsServer | undefined;
  let pebble: TestPebble | undefined;
  let backend: http.Server | undefined;
  let backendPort = 0;
  let root = "";
  const engines: TestEngine[] = [];

  before(async function () {
    const pdnsBinary = requireBinary(this, "pdns_server", "pdns-server");
    requireBinary(this, "sqlite3", "sqlite3");
    nginx = await startNginx(this);
    sshd = await startSshd(this);
    pdns = await PowerDnsServer.start(pdnsBinary);
    pebble = await startPebble(this, { dnsPort: pdns.dnsPort, httpPort: nginx.httpPort });
    root = await pebble.root();
    await pdns.createZone("preview.test");
    await pdns.api("PATCH", "/zones/preview.test.", { rrsets: [{ name: "app.preview.test.", type: "A", ttl: 60, changetype: "REPLACE", records: [{ content: "127.0.0.1", disabled: false }] }] });
    await pdns.createZone("wild.test", [TSIG]);
    await pdns.createZone("fail.test");
    await pdns.createZone("shared.test");
    // `sub.fail.test` is delegated away: PowerDNS answers a referral for names below it, never their TXT.
    await pdns.api("PATCH", "/zones/fail.test.", { rrsets: [{ name: "sub.fail.test.", type: "NS", ttl: 60, changetype: "REPLACE", records: [{ content: "ns.nowhere.invalid.", disabled: false }] }] });
    backend = http.createServer((req, res) => res.end(`hello ${req.headers.host}`));
    await new Promise<void>((resolve) => backend!.listen(0, "127.0.0.1", () => resolve()));
    backendPort = (backend.address() as net.AddressInfo).port;
  });
  after(async () => {
    for (const engine of engines) await engine.close();
    backend?.close();
    await pebble?.stop();
    await pdns?.stop();
    await nginx?.stop();
    await sshd?.stop();
  });

  const newEngine = (stack: string) => {
    const engine = new TestEngine({ project: "launchpad-acme", stack });
    engines.push(engine);
    return engine;
  };
  const proxyArgs = () => ({
    ...proxyHost(sshd!, nginx!),
    // Given plainly: the resource class seals it (issue #15).
    privateKey: sshd!.privateKey,
  });
  const acmeArgs = () => ({ directoryUrl: pebble!.directoryUrl, directoryCa: pebble!.directoryCa, email: "ops@preview.test" });
  const route = (name: string, hostname: string, cert: AcmeCertificate) =>
    new ProxyRoute(name, { proxy: proxyArgs(), http: { hostname, target: { host: "127.0.0.1", port: backendPort }, tls: cert.tls } });

  /** What a failed or destroyed certificate must not leave: challenge files, challenge servers, keys. */
  function leftovers(): string[] {
    const confDir = nginx!.confDir;
    const found: string[] = [];
    const tokens = `${confDir}/acme/.well-known/acme-challenge`;
    if (fs.existsSync(tokens)) found.push(...fs.readdirSync(tokens).map((f) => `${tokens}/${f}`));
    found.push(...fs.readdirSync(`${confDir}/http`).filter((f) => f.startsWith("_acme-")));
    if (fs.existsSync(`${confDir}/certs`)) found.push(...fs.readdirSync(`${confDir}/certs`).map((f) => `certs/${f}`));
    return found;
  }

  it("issues by HTTP-01, serves it, renews in place within the window, notices a replaced file, and leaves nothing after destroy", async () => {
    const engine = newEngine("http01");
    const program = (renewBeforeDays?: number) => () => {
      const cert = new AcmeCertificate("app-cert", { proxy: proxyArgs(), hostname: "app.preview.test", ...acmeArgs(), renewBeforeDays });
      const app = route("app", "app.preview.test", cert);
      return { serial: cert.serialNumber, notAfter: cert.notAfter, keyPath: cert.keyPath, url: app.url };
    };
    const created = await engine.up(program());
    assert.deepStrictEqual(created.operations.map((o) => `${o.name}:${o.op}`), ["app-cert:create", "app:create"]);
    assert.strictEqual(engine.resource("app-cert")!.type, "pulumi-nodejs:dynamic/launchpad:AcmeCertificate");
    const served = await httpsGet(nginx!.httpsPort, "app.preview.test", root);
    assert.strictEqual(served.status, 200);
    assert.strictEqual(served.body, "hello app.preview.test");
    assert.strictEqual(served.certificate.serialNumber, created.outputs.serial, "nginx serves the issued certificate, chaining to Pebble's root");
    const notAfter = Date.parse(String(created.outputs.notAfter));
    assert.ok(notAfter > Date.now() + 30 * 86_400_000, `expiry ${created.outputs.notAfter} is an output`);
    assert.strictEqual((fs.statSync(String(created.outputs.keyPath)).mode & 0o777), 0o600, "the key is made on the host, readable by its owner only");
    assert.deepStrictEqual(leftovers().filter((f) => !f.startsWith("certs/")), [], "challenge files and servers are gone after issue");

    const same = await engine.up(program());
    assert.deepStrictEqual(same.operations.map((o) => `${o.name}:${o.op}`), ["app-cert:same", "app:same"]);

    // A window longer than the certificate's life puts it inside the window: `up` renews in place.
    const keyBefore = fs.readFileSync(String(created.outputs.keyPath), "utf8");
    const renewed = await engine.up(program(3650));
    assert.deepStrictEqual(renewed.operations.map((o) => `${o.name}:${o.op}`), ["app-cert:update", "app:same"]);
    assert.notStrictEqual(renewed.outputs.serial, created.outputs.serial);
    assert.notStrictEqual(fs.readFileSync(String(created.outputs.keyPath), "utf8"), keyBefore, "a renewal comes with a fresh key");
    assert.strictEqual((await httpsGet(nginx!.httpsPort, "app.preview.test", root)).certificate.serialNumber, renewed.outputs.serial, "nginx was reloaded");

    // Someone puts another certificate in place: refresh notices, the next up issues ours again.
    const certificatePath = String(engine.resource("app-cert")!.plainOutputs.certificatePath);
    fs.copyFileSync(nginx!.certificate, certificatePath);
    fs.copyFileSync(nginx!.key, String(created.outputs.keyPath));
    await engine.refresh();
    const refreshed = engine.resource("app-cert")!.plainOutputs;
    assert.notStrictEqual(refreshed.certificateSha256, refreshed.issuedSha256);
    const restored = await engine.up(program());
    assert.deepStrictEqual(restored.operations.map((o) => `${o.name}:${o.op}`), ["app-cert:update", "app:same"]);
    assert.strictEqual((await httpsGet(nginx!.httpsPort, "app.preview.test", root)).certificate.serialNumber, restored.outputs.serial);

    // The state holds no private key: the account key is a secret output, the certificate key never left the host.
    const account = engine.state.find((r) => r.name === "app-cert")!;
    assert.ok(isSecretWire(account.outputs.accountKey), "the account key is kept as a secret");
    assert.ok(isSecretWire(account.outputs.proxy), "the proxy host's SSH key is kept as a secret");
    assert.ok(!engine.stateText().includes("PRIVATE KEY"), "the state holds a private key in clear");

    // The certificate deleted on the host, its key left: refresh records drift (forgetting it would strand
    // the key), and up issues the pair again in place.
    fs.rmSync(certificatePath);
    await engine.refresh();
    assert.strictEqual(engine.resource("app-cert")!.plainOutputs.certificateSha256, "certificate-missing");
    const repaired = await engine.up(program());
    assert.deepStrictEqual(repaired.operations.map((o) => `${o.name}:${o.op}`), ["app-cert:update", "app:same"]);
    assert.strictEqual((await httpsGet(nginx!.httpsPort, "app.preview.test", root)).certificate.serialNumber, repaired.outputs.serial);

    // Both deleted on the host: refresh drops it, and up issues a new one.
    fs.rmSync(certificatePath);
    fs.rmSync(String(created.outputs.keyPath));
    const afterRemoval = await engine.refresh();
    assert.ok(afterRemoval.operations.some((o) => o.name === "app-cert" && o.op === "delete"));
    assert.strictEqual(engine.state.find((r) => r.name === "app-cert"), undefined, "refresh dropped the deleted certificate");
    const reissued = await engine.up(program());
    assert.ok(reissued.operations.some((o) => o.name === "app-cert" && o.op === "create"), reissued.operations.map((o) => `${o.name}:${o.op}`).join(","));
    assert.strictEqual((await httpsGet(nginx!.httpsPort, "app.preview.test", root)).certificate.serialNumber, reissued.outputs.serial);
    const again = engine.state.find((r) => r.name === "app-cert")!;
    assert.ok(isSecretWire(again.outputs.accountKey) && isSecretWire(again.outputs.proxy));
    assert.ok(!engine.stateText().includes("PRIVATE KEY"), "the state holds a private key in clear");
    assert.ok(!engine.hostLogs.join("\n").includes("PRIVATE KEY"), "the host output holds a private key");

    const destroyed = await engine.destroy();
    assert.deepStrictEqual(destroyed.operations.map((o) => `${o.name}:${o.op}`), ["app:delete", "app-cert:delete"]);
    assert.deepStrictEqual(leftovers(), []);
    assert.strictEqual((await nginx!.test()).ok, true);
  });

  it("fails an HTTP-01 validation (the name does not resolve) and leaves no token, server, key or state behind", async () => {
    const engine = newEngine("http01-failure");
    await assert.rejects(engine.up(() => {
      new AcmeCertificate("nowhere-cert", { proxy: proxyArgs(), hostname: "nowhere.preview.test", ...acmeArgs() });
    }), (error: unknown) => error instanceof EngineError && /http-01 validation of nowhere\.preview\.test/.test(error.message));
    assert.strictEqual(engine.state.find((r) => r.name === "nowhere-cert"), undefined);
    assert.deepStrictEqual(leftovers(), []);
    assert.strictEqual((await nginx!.test()).ok, true);
  });

  it("issues a *.domain certificate by DNS-01 (RFC 2136 + TSIG), serves it to two names with SNI, and removes the challenge record", async () => {
    const engine = newEngine("wildcard");
    const program = () => {
      const cert = new AcmeCertificate("wild-cert", {
        proxy: proxyArgs(), hostname: "*.wild.test", ...acmeArgs(),
        dns: { zone: "wild.test", server: { kind: "rfc2136", host: "127.0.0.1", port: pdns!.dnsPort, tsig: { ...TSIG } } },
      });
      route("a", "a.wild.test", cert);
      route("b", "b.wild.test", cert);
      return { serial: cert.serialNumber };
    };
    const created = await engine.up(program);
    assert.deepStrictEqual(created.operations.map((o) => `${o.name}:${o.op}`).sort(), ["a:create", "b:create", "wild-cert:create"]);
    for (const name of ["a.wild.test", "b.wild.test"]) {
      const served = await httpsGet(nginx!.httpsPort, name, root);
      assert.strictEqual(served.body, `hello ${name}`);
      assert.strictEqual(served.certificate.serialNumber, created.outputs.serial);
      assert.match(served.certificate.subjectaltname ?? "", /DNS:\*\.wild\.test/);
    }
    assert.deepStrictEqual((await pdns!.query("_acme-challenge.wild.test", "TXT")).answers, [], "the challenge record is removed");
    assert.ok(!engine.stateText().includes(TSIG.secret), "the TSIG secret is not in the state in clear");
    const destroyed = await engine.destroy();
    assert.strictEqual(destroyed.operations.at(-1)!.name, "wild-cert", "routes go before the certificate they use");
    assert.deepStrictEqual(leftovers(), []);
  });

  it("fails a DNS-01 validation (the name is delegated away) and removes the record it wrote (PowerDNS API)", async () => {
    const engine = newEngine("dns01-failure");
    await assert.rejects(engine.up(() => {
      new AcmeCertificate("sub-cert", {
        proxy: proxyArgs(), hostname: "*.sub.fail.test", ...acmeArgs(),
        dns: { zone: "fail.test", server: { kind: "powerdns", url: pdns!.apiUrl, apiKey: pdns!.apiKey, allowPlainHttp: true } },
      });
    }), (error: unknown) => error instanceof EngineError && /dns-01 validation of \*\.sub\.fail\.test/.test(error.message));
    const zone = await pdns!.api("GET", "/zones/fail.test.") as { rrsets: { name: string; type: string }[] };
    assert.deepStrictEqual(zone.rrsets.filter((r) => r.type === "TXT"), [], "no challenge record is left");
    assert.deepStrictEqual(leftovers(), []);
    assert.ok(!engine.stateText().includes(pdns!.apiKey));
  });

  it("gives a PreviewEnvironment with tls \"acme\" its own certificate (after its DNS record), behind basic auth, and removes it all on destroy", async () => {
    // The sandbox reports a static address as the container's: a loopback one, where the test's app listens.
    const sandbox: Sandbox = await startSandbox({ taskDurationsMs: { vzcreate: 20, vzstart: 10, vzshutdown: 10, vzstop: 10, vzdestroy: 10 } });
    const app = http.createServer((req, res) => res.end(`preview ${req.headers.host}`));
    await new Promise<void>((resolve) => app.listen(0, "127.0.0.7", () => resolve()));
    const appPort = (app.address() as net.AddressInfo).port;
    const engine = new TestEngine({
      project: "launchpad-acme", stack: "preview",
      ...proxmoxConfig(sandbox),
    });
    engines.push(engine);
    const password = "preview-team-password-3";
    try {
      const created = await engine.up(() => {
        const preview = new PreviewEnvironment("pr", {
          name: "pr-42", domain: "preview.test", template: TEMPLATE,
          network: { ipv4: { address: "127.0.0.7/8" } },
          proxy: { ...proxyArgs(), publicAddress: "127.0.0.1", tls: "acme", acme: acmeArgs() },
          dns: { kind: "self-hosted", server: { kind: "powerdns", url: pdns!.apiUrl, apiKey: pdns!.apiKey, allowPlainHttp: true } },
          services: { http: { port: appPort, access: { basicAuth: { users: [{ name: "team", password }] } } } },
        });
        return { url: preview.url, serial: preview.certificate!.serialNumber };
      });
      const order = created.operations.filter((o) => o.op === "create").map((o) => o.name);
      assert.ok(order.indexOf("pr-dns") < order.indexOf("pr-cert") && order.indexOf("pr-cert") < order.indexOf("pr-http"), order.join(","));
      const hostname = "pr-42.preview.test";
      const refused = await httpsGet(nginx!.httpsPort, hostname, root);
      assert.strictEqual(refused.status, 401);
      assert.strictEqual(refused.certificate.serialNumber, created.outputs.serial, "the preview's own certificate, chaining to Pebble's root");
      const admitted = await new Promise<Served>((resolve, reject) => {
        https.request({ host: "127.0.0.1", port: nginx!.httpsPort, path: "/", servername: hostname, ca: root, agent: false,
          headers: { host: hostname, authorization: `Basic ${Buffer.from(`team:${password}`).toString("base64")}` } }, (res) => {
          let body = "";
          res.on("data", (c) => { body += c; });
          res.on("end", () => resolve({ status: res.statusCode!, body, certificate: (res.socket as tls.TLSSocket).getPeerCertificate() }));
        }).on("error", reject).end();
      });
      assert.strictEqual(admitted.status, 200);
      assert.strictEqual(admitted.body, `preview ${hostname}`);
      const state = engine.stateText();
      assert.ok(!state.includes("PRIVATE KEY") && !state.includes(password), "the state holds a private key or a password in clear");
      await engine.destroy();
      assert.deepStrictEqual(leftovers(), []);
      assert.deepStrictEqual((await pdns!.query(hostname, "A")).answers, []);
    } finally {
      app.close();
      await sandbox.close();
    }
  });

  it("serves two PreviewEnvironments under one domain with one *.domain certificate by DNS-01 through the PowerDNS API, and leaves no challenge record", async () => {
    const sandbox: Sandbox = await startSandbox({ taskDurationsMs: { vzcreate: 20, vzstart: 10, vzshutdown: 10, vzstop: 10, vzdestroy: 10 } });
    // Each preview's container has a static loopback address, where an app of the test listens.
    const addresses = ["127.0.0.8", "127.0.0.9"];
    const apps = addresses.map((address) => http.createServer((req, res) => res.end(`${address} ${req.headers.host}`)));
    await Promise.all(apps.map((app, i) => new Promise<void>((resolve) => app.listen(0, addresses[i], () => resolve()))));
    const engine = new TestEngine({ project: "launchpad-acme", stack: "shared-wildcard", ...proxmoxConfig(sandbox) });
    engines.push(engine);
    const dns = { kind: "self-hosted" as const, server: pdns!.apiServer() };
    try {
      const created = await engine.up(() => {
        const wildcard = new AcmeCertificate("shared-cert", {
          proxy: proxyArgs(), hostname: "*.shared.test", ...acmeArgs(), dns: { zone: "shared.test", server: pdns!.apiServer() },
        });
        const previews = ["pr-1", "pr-2"].map((name, i) => new PreviewEnvironment(name, {
          name, domain: "shared.test", template: TEMPLATE,
          network: { ipv4: { address: `${addresses[i]}/8` } },
          proxy: { ...proxyArgs(), publicAddress: "127.0.0.1", tls: wildcard },
          dns,
          services: { http: { port: (apps[i].address() as net.AddressInfo).port } },
        }));
        return { serial: wildcard.serialNumber, urls: previews.map((p) => p.url) };
      });
      assert.strictEqual(created.operations.filter((o) => o.name === "shared-cert").length, 1, "one certificate for both");
      for (const [i, name] of ["pr-1", "pr-2"].entries()) {
        const hostname = `${name}.shared.test`;
        const served = await httpsGet(nginx!.httpsPort, hostname, root);
        assert.strictEqual(served.body, `${addresses[i]} ${hostname}`);
        assert.strictEqual(served.certificate.serialNumber, created.outputs.serial, "the shared wildcard, chaining to Pebble's root");
        assert.match(served.certificate.subjectaltname ?? "", /DNS:\*\.shared\.test/);
      }
      assert.deepStrictEqual((await pdns!.query("_acme-challenge.shared.test", "TXT")).answers, [], "the challenge record is removed");
      const destroyed = await engine.destroy();
      assert.strictEqual(destroyed.operations.at(-1)!.name, "shared-cert", "the previews' routes go before the certificate they use");
      assert.deepStrictEqual(leftovers(), []);
      for (const name of ["pr-1", "pr-2"]) assert.deepStrictEqual((await pdns!.query(`${name}.shared.test`, "A")).answers, []);
      assert.deepStrictEqual(sandbox.containers(), []);
    } finally {
      apps.forEach((app) => app.close());
      await sandbox.close();
    }
  });
});
