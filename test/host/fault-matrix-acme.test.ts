// The AcmeCertificate rows of the fault matrix (issue #15), through the real dynamic-provider host,
// against a real Pebble whose validation asks the real PowerDNS and connects to the real nginx,
// over a real OpenSSH server. Rows: create, update (a new key type reissues in place), refresh and
// delete. Faults: the ACME challenge failing (Pebble cannot resolve the name), PowerDNS's API answering
// 5xx while the DNS-01 record is written (an HTTP relay in front of it), `nginx -t` failing (someone
// else's broken file in the conf dir), and SSH dropped mid-session (a TCP relay in front of sshd). Each cell: the faulted run
// fails by name (or converges, where the fault does not touch it); no token, challenge server,
// challenge record or key is left that state does not account for; the next run converges; a
// hand-written route keeps serving and someone else's record is untouched.
import { strict as assert } from "assert";
import { execSync } from "child_process";
import { createHash, generateKeyPairSync } from "crypto";
import * as fs from "fs";
import * as http from "http";
import * as path from "path";
import * as pulumi from "@pulumi/pulumi";
import { AcmeCertificate } from "../../src/acmeCertificate";
import { requireBinary } from "../../devstack/binaries";
import { EngineError, TestEngine } from "../../devstack/engine";
import { cell, type Operation } from "../support/fault-matrix";
import { startNginx, type TestNginx } from "../../devstack/nginx";
import { PowerDnsServer } from "../../devstack/pdns";
import { eventually } from "../../devstack/probes";
import { startPebble, type TestPebble } from "../../devstack/pebble";
import { startHttpRelay, startTcpRelay, type HttpRelay, type TcpRelay } from "../support/relays";
import { startSshd, type TestSshd } from "../../devstack/sshd";
import { proxyHost } from "../../devstack/proxy-host";

const ZONE = "fm-acme.test";

describe("fault matrix: AcmeCertificate through the real host", function () {
  this.timeout(180_000);
  let nginx: TestNginx;
  let sshd: TestSshd;
  let pdns: PowerDnsServer;
  let pebble: TestPebble;
  let api: HttpRelay;
  let ssh: TcpRelay;
  const engines: TestEngine[] = [];
  let foreignFile: string;
  const foreignText = () => `server { listen 127.0.0.1:${nginx.httpPort}; server_name foreign.${ZONE}; return 200 "foreign"; }\n`;
  let foreignRecords: string;

  before(async function () {
    const binary = requireBinary(this, "pdns_server", "pdns-server");
    requireBinary(this, "sqlite3", "sqlite3");
    nginx = await startNginx(this);
    sshd = await startSshd(this);
    pdns = await PowerDnsServer.start(binary);
    pebble = await startPebble(this, { dnsPort: pdns.dnsPort, httpPort: nginx.httpPort });
    await pdns.createZone(ZONE);
    const apiUrl = new URL(pdns.apiUrl);
    api = await startHttpRelay({ host: apiUrl.hostname, port: Number(apiUrl.port) });
    ssh = await startTcpRelay({ host: sshd.host, port: sshd.port });
    // Every name a cell issues for resolves to the test nginx, except the one whose fault is that it does not.
    await setA(["create-ngx", "delete-ngx", "refresh-ngx", "update-ngx", "update-chal", "create-ssh", "update-ssh", "refresh-ssh", "delete-ssh", "foreign"].map((n) => `${n}.${ZONE}`), "127.0.0.1");
    await pdns.api("PATCH", `/zones/${ZONE}.`, { rrsets: [{ name: `_acme-challenge.foreign.${ZONE}.`, type: "TXT", ttl: 60, changetype: "REPLACE", records: [{ content: '"someone else\'s"', disabled: false }] }] });
    foreignRecords = await othersRecords();
    foreignFile = path.join(nginx.confDir, "http", `foreign.${ZONE}.conf`);
    fs.writeFileSync(foreignFile, foreignText());
    execSync(nginx.reloadCommand);
    assert.equal(await eventually(async () => {
      const got = await answer(`foreign.${ZONE}`);
      if (got !== "200 foreign") throw new Error(got);
      return got;
    }), "200 foreign");
  });
  after(async () => {
    for (const engine of engines) await engine.close();
    await api?.close();
    await ssh?.close();
    await pebble?.stop();
    await pdns?.stop();
    await nginx?.stop();
    await sshd?.stop();
  });

  const setA = (names: string[], address: string | undefined) => pdns.api("PATCH", `/zones/${ZONE}.`, {
    rrsets: names.map((name) => address
      ? { name: `${name}.`, type: "A", ttl: 60, changetype: "REPLACE", records: [{ content: address, disabled: false }] }
      : { name: `${name}.`, type: "A", changetype: "DELETE" }),
  });
  const othersRecords = async () => JSON.stringify(((await pdns.api("GET", `/zones/${ZONE}.`)) as { rrsets: { name: string; type: string; records: unknown[] }[] })
    .rrsets.filter((r) => r.name.includes("foreign")).sort((a, b) => `${a.name}${a.type}`.localeCompare(`${b.name}${b.type}`)));
  const challengeTxt = async () => ((await pdns.api("GET", `/zones/${ZONE}.`)) as { rrsets: { name: string; type: string }[] })
    .rrsets.filter((r) => r.type === "TXT" && !r.name.includes("foreign")).map((r) => r.name);
  const answer = (hostname: string) => new Promise<string>((resolve, reject) => {
    http.get({ host: "127.0.0.1", port: nginx.httpPort, path: "/", headers: { host: hostname }, agent: false }, (res) => {
      let body = "";
      res.on("data", (c) => (body += c)).on("end", () => resolve(`${res.statusCode} ${body}`));
    }).on("error", reject);
  });

  /** Files on the proxy host no certificate in state accounts for: tokens, challenge servers, keys, certificates. */
  function orphans(): string[] {
    const confDir = nginx.confDir;
    const owned = new Set(engines.flatMap((e) => e.state.filter((r) => r.custom && r.id).flatMap((r) => {
      const outs = e.resource(r.urn)!.plainOutputs;
      return [path.basename(String(outs.certificatePath)), path.basename(String(outs.keyPath))];
    })));
    const found: string[] = [];
    const tokens = `${confDir}/acme/.well-known/acme-challenge`;
    if (fs.existsSync(tokens)) found.push(...fs.readdirSync(tokens).map((f) => `token ${f}`));
    found.push(...fs.readdirSync(`${confDir}/http`).filter((f) => f.startsWith("_acme-") || f.startsWith(".")));
    if (fs.existsSync(`${confDir}/certs`)) found.push(...fs.readdirSync(`${confDir}/certs`).filter((f) => !owned.has(f)).map((f) => `certs/${f}`));
    return found;
  }
  async function clean(): Promise<void> {
    assert.deepEqual(orphans(), [], "nothing on the proxy host that state does not account for");
    assert.deepEqual(await challengeTxt(), [], "no challenge record left");
    assert.equal(await othersRecords(), foreignRecords, "someone else's records are untouched");
    assert.equal(fs.readFileSync(foreignFile, "utf8"), foreignText(), "the hand-written route file is untouched");
    assert.equal((await nginx.test()).ok, true);
    assert.equal(await answer(`foreign.${ZONE}`), "200 foreign", "the hand-written route keeps serving");
  }

  // Every cell reaches sshd through the TCP relay, so the SSH cells can cut it; a port is not part of the
  // certificate's identity (only host and confDir replace it).
  const proxy = () => ({
    ...proxyHost(sshd, nginx), port: ssh.port, privateKey: pulumi.secret(sshd.privateKey),
  });
  type KeyType = "ec-p256" | "ec-p384" | "rsa-2048" | "rsa-4096";
  const certificate = (hostname: string, dns01 = false, keyType: KeyType = "ec-p256", accountKey?: string) => () => {
    new AcmeCertificate("cert", {
      proxy: proxy(), hostname, keyType, directoryUrl: pebble.directoryUrl, directoryCa: pebble.directoryCa, email: "ops@preview.test",
      ...(accountKey ? { accountKey: pulumi.secret(accountKey) } : {}),
      ...(dns01 ? { challenge: "dns-01" as const, dns: { zone: ZONE, server: { kind: "powerdns" as const, url: api.url, apiKey: pulumi.secret(pdns.apiKey), allowPlainHttp: true } } } : {}),
    });
  };
  /**
   * A new ACME account for a faulted re-issue. Pebble 2.4 reuses the account's valid authorization for the
   * name 1 time in 100 even with PEBBLE_AUTHZREUSE=0 (wfe.go makeAuthorizations: `rand.Intn(100) >
   * authzReusePercent`), and then no challenge runs and the fault is never met. A new account has none.
   */
  const freshAccount = () => generateKeyPairSync("ec", { namedCurve: "P-256" }).privateKey.export({ type: "pkcs8", format: "pem" }).toString();
  const newEngine = (stack: string) => {
    const engine = new TestEngine({ project: "launchpad-fm-acme", stack });
    engines.push(engine);
    return engine;
  };
  const planted = () => path.join(nginx.confDir, "http", "zz-planted.conf");
  const plant = () => fs.writeFileSync(planted(), "this is not nginx syntax\n");
  const unplant = () => fs.rmSync(planted(), { force: true });

  afterEach(async () => {
    unplant();
    api.clear();
    ssh.cutAfter(undefined);
    for (const engine of engines) if (engine.state.some((r) => r.custom)) await engine.destroy().catch(() => undefined);
  });

  async function fails(run: () => Promise<unknown>, expected: RegExp): Promise<void> {
    const failure = await run().then(() => undefined, (e: Error) => e);
    assert.ok(failure instanceof EngineError, "the faulted run must fail, not succeed");
    assert.match(failure.message, expected);
    assert.ok(!failure.message.includes(pdns.apiKey) && !failure.message.includes("PRIVATE KEY"), "no secret in the message");
  }
  const issued = (engine: TestEngine) => {
    const outs = engine.resource("cert")!.plainOutputs;
    assert.ok(fs.readFileSync(String(outs.certificatePath), "utf8").includes("BEGIN CERTIFICATE"), "the certificate is in place");
    assert.ok(fs.existsSync(String(outs.keyPath)), "and its key");
  };

  cell({ resource: "AcmeCertificate", operation: "create", fault: "ACME challenge failing" }, async () => {
    const engine = newEngine("create-challenge");
    const hostname = `create-chal.${ZONE}`;
    // Pebble cannot resolve the name, so its HTTP-01 validation fails: a real ACME error.
    await fails(() => engine.up(certificate(hostname)), /http-01 validation of create-chal\.fm-acme\.test/);
    assert.equal(engine.resource("cert"), undefined, "a failed issue records nothing");
    await clean();

    await setA([hostname], "127.0.0.1");
    await engine.up(certificate(hostname));
    issued(engine);
    await clean();
    await engine.destroy();
    await clean();
  });

  cell({ resource: "AcmeCertificate", operation: "create", fault: "PowerDNS 5xx" }, async () => {
    const engine = newEngine("create-5xx");
    const hostname = `create-5xx.${ZONE}`;
    // The DNS-01 record cannot be written: retried, then named; nothing is validated, nothing left.
    api.fail(500, Infinity, "PATCH");
    await fails(() => engine.up(certificate(hostname, true)), /PowerDNS PATCH http:\/\/127\.0\.0\.1:\d+ zone fm-acme\.test: HTTP 500 injected 500/);
    api.clear();
    assert.ok(api.faulted > 0);
    assert.equal(engine.resource("cert"), undefined);
    await clean();

    await engine.up(certificate(hostname, true));
    issued(engine);
    await engine.destroy();
    await clean();
  });

  const ngx = (operation: Operation) => ({ resource: "AcmeCertificate", operation, fault: "nginx -t failing" });

  cell(ngx("create"), async () => {
    const engine = newEngine("create-ngx");
    const hostname = `create-ngx.${ZONE}`;
    plant();
    await fails(() => engine.up(certificate(hostname)), /nginx -t rejected the configuration.*zz-planted\.conf/s);
    unplant();
    assert.equal(engine.resource("cert"), undefined);
    await clean();

    await engine.up(certificate(hostname));
    issued(engine);
    await engine.destroy();
    await clean();
  });

  cell(ngx("refresh"), async () => {
    const engine = newEngine("refresh-ngx");
    await engine.up(certificate(`refresh-ngx.${ZONE}`));
    plant();
    // A read does not meet nginx -t: the refresh converges, and changes nothing.
    assert.deepEqual((await engine.refresh()).operations.map((o) => o.op), ["same"]);
    unplant();
    issued(engine);
    await engine.destroy();
    await clean();
  });

  cell(ngx("delete"), async () => {
    const engine = newEngine("delete-ngx");
    await engine.up(certificate(`delete-ngx.${ZONE}`));
    plant();
    await fails(() => engine.destroy(), /nginx -t rejected the configuration.*zz-planted\.conf/s);
    unplant();
    assert.ok(engine.resource("cert"), "a failed delete keeps the certificate in state");
    issued(engine);
    await clean();

    await engine.destroy();
    assert.equal(engine.state.filter((r) => r.custom).length, 0);
    await clean();
  });

  // Update rows: a new key type issues the certificate again in place (CERTIFICATE_DIFF_TABLE). Under a
  // fault, the update fails by name and the certificate in state is the one on the host, still in place.
  const onHost = (engine: TestEngine) => fs.readFileSync(String(engine.resource("cert")!.plainOutputs.certificatePath), "utf8");
  async function keptOld(engine: TestEngine, before: string): Promise<void> {
    assert.equal(onHost(engine), before, "the certificate on the host is still the old one");
    assert.equal(engine.resource("cert")!.plainOutputs.keyType, "ec-p256", "state still describes the old certificate");
    assert.equal(engine.resource("cert")!.plainOutputs.certificateSha256, createHash("sha256").update(before).digest("hex"));
    assert.equal((await engine.refresh()).operations.map((o) => o.op).join(), "same", "a refresh finds no drift");
  }
  async function reissued(engine: TestEngine, before: string, hostname: string, dns01 = false): Promise<void> {
    await engine.up(certificate(hostname, dns01, "ec-p384"));
    assert.notEqual(onHost(engine), before, "the next run issues the new certificate");
    assert.equal(engine.resource("cert")!.plainOutputs.keyType, "ec-p384");
    assert.match(execSync(`openssl pkey -in ${String(engine.resource("cert")!.plainOutputs.keyPath)} -noout -text`, { encoding: "utf8" }), /384 bit|P-384|secp384r1/);
    await clean();
    await engine.destroy();
    await clean();
  }

  cell({ resource: "AcmeCertificate", operation: "update", fault: "ACME challenge failing" }, async () => {
    const engine = newEngine("update-challenge");
    const hostname = `update-chal.${ZONE}`;
    await engine.up(certificate(hostname));
    const before = onHost(engine);
    await setA([hostname], undefined);
    await fails(() => engine.up(certificate(hostname, false, "ec-p384", freshAccount())), /http-01 validation of update-chal\.fm-acme\.test/);
    await keptOld(engine, before);
    await clean();

    await setA([hostname], "127.0.0.1");
    await reissued(engine, before, hostname);
  });

  cell({ resource: "AcmeCertificate", operation: "update", fault: "PowerDNS 5xx" }, async () => {
    const engine = newEngine("update-5xx");
    const hostname = `update-5xx.${ZONE}`;
    await engine.up(certificate(hostname, true));
    const before = onHost(engine);
    api.fail(500, Infinity, "PATCH");
    await fails(() => engine.up(certificate(hostname, true, "ec-p384", freshAccount())), /PowerDNS PATCH http:\/\/127\.0\.0\.1:\d+ zone fm-acme\.test: HTTP 500 injected 500/);
    api.clear();
    await keptOld(engine, before);
    await clean();

    await reissued(engine, before, hostname, true);
  });

  cell(ngx("update"), async () => {
    const engine = newEngine("update-ngx");
    const hostname = `update-ngx.${ZONE}`;
    await engine.up(certificate(hostname));
    const before = onHost(engine);
    plant();
    await fails(() => engine.up(certificate(hostname, false, "ec-p384")), /nginx -t rejected the configuration.*zz-planted\.conf/s);
    unplant();
    await keptOld(engine, before);
    await clean();

    await reissued(engine, before, hostname);
  });

  // SSH dropped mid-session: the TCP relay in front of sshd cuts every open connection the moment the
  // certificate file changes in the proxy's conf dir (after the write, before nginx -t and the reload),
  // or, for a refresh (a read), shortly before its answer is complete.
  const sshCut = (operation: Operation) => ({ resource: "AcmeCertificate", operation, fault: "SSH dropped mid-session" });
  const certsDir = () => path.join(nginx.confDir, "certs");
  async function cutWhenCertificateChanges<T>(hostname: string, run: () => Promise<T>): Promise<Error | undefined> {
    fs.mkdirSync(certsDir(), { recursive: true });
    const cutsBefore = ssh.cuts;
    const watcher = fs.watch(certsDir(), (_event, file) => {
      if (file === `${hostname}.crt`) ssh.cutAll();
    });
    try {
      return await run().then(() => undefined, (e: Error) => e);
    } finally {
      watcher.close();
      assert.ok(ssh.cuts > cutsBefore, "the fault fired");
    }
  }
  const lost = /SSH connection to root@127\.0\.0\.1:\d+ was lost/;

  cell(sshCut("create"), async () => {
    const engine = newEngine("create-ssh");
    const hostname = `create-ssh.${ZONE}`;
    const failure = await cutWhenCertificateChanges(hostname, () => engine.up(certificate(hostname)));
    assert.ok(failure instanceof EngineError, "the cut create fails");
    assert.match(failure.message, lost);
    // The certificate reached the host before the cut: it is in state (ErrorResourceInitFailed), marked
    // as not installed, so nothing is left the next run cannot see.
    assert.equal(engine.resource("cert")?.plainOutputs.certificateSha256, "install-interrupted");
    await clean();

    const next = await engine.up(certificate(hostname));
    assert.deepEqual(next.operations.filter((o) => o.name === "cert").map((o) => o.op), ["update"], "the next up installs the pair in place");
    issued(engine);
    await clean();
    await engine.destroy();
    await clean();
  });

  cell(sshCut("update"), async () => {
    const engine = newEngine("update-ssh");
    const hostname = `update-ssh.${ZONE}`;
    await engine.up(certificate(hostname));
    const before = onHost(engine);
    const failure = await cutWhenCertificateChanges(hostname, () => engine.up(certificate(hostname, false, "ec-p384")));
    assert.ok(failure instanceof EngineError, "the cut update fails");
    assert.match(failure.message, lost);
    assert.equal(engine.resource("cert")?.plainOutputs.certificateSha256, "install-interrupted", "state knows the install was cut");
    await clean();
    await reissued(engine, before, hostname);
  });

  cell(sshCut("refresh"), async () => {
    const engine = newEngine("refresh-ssh");
    await engine.up(certificate(`refresh-ssh.${ZONE}`));
    const connections = ssh.transferred.length;
    await engine.refresh();
    const bytes = ssh.transferred.slice(connections).reduce((a, b) => a + b, 0);
    const cutsBefore = ssh.cuts;
    ssh.cutAfter(bytes - 600);
    const failure = await engine.refresh().then(() => undefined, (e: Error) => e);
    ssh.cutAfter(undefined);
    assert.ok(ssh.cuts > cutsBefore, "the fault fired");
    assert.ok(failure instanceof EngineError, "a refresh that loses its session fails; it does not read the certificate as gone");
    assert.match(failure.message, lost);
    issued(engine);
    assert.deepEqual((await engine.refresh()).operations.map((o) => o.op), ["same"]);
    await engine.destroy();
    await clean();
  });

  cell(sshCut("delete"), async () => {
    const engine = newEngine("delete-ssh");
    const hostname = `delete-ssh.${ZONE}`;
    await engine.up(certificate(hostname));
    const failure = await cutWhenCertificateChanges(hostname, () => engine.destroy());
    assert.ok(failure instanceof EngineError, "the cut delete fails");
    assert.match(failure.message, lost);
    assert.ok(engine.resource("cert"), "a failed delete keeps the certificate in state");
    await clean();

    await engine.destroy();
    assert.equal(engine.state.filter((r) => r.custom).length, 0);
    await clean();
  });
});
