// AcmeCertificate's issuing layer (provider/acme's hooks and apply) in this process, against a real ACME
// server (Pebble) that validates through the test PowerDNS and the test nginx, with the proxy host reached
// over a real OpenSSH server. Each test issues its own certificate under its own name, so any one of them
// runs alone (mutation testing runs only the tests that reach a mutant). The resource itself is tested
// through the provider host in test/integration/acme.test.ts and test/host/fault-matrix-acme.test.ts.
import * as assert from "assert";
import { exec } from "child_process";
import * as crypto from "crypto";
import * as fs from "fs";
import * as net from "net";
import { promisify } from "util";
import * as acme from "acme-client";
import { isLaunchpadError } from "../../provider/errors";
import { provider } from "../../provider/acme";
import { describeCertificate } from "../../provider/acme/apply";
import { requireBinary } from "../../devstack/binaries";
import { startNginx, type TestNginx } from "../../devstack/nginx";
import { PowerDnsServer, type PdnsTsigKey } from "../../devstack/pdns";
import { startPebble, type TestPebble } from "../../devstack/pebble";
import { startSshd, type TestSshd } from "../../devstack/sshd";
import { proxyHost } from "../../devstack/proxy-host";
import { startTcpRelay } from "../support/relays";
import { emptyNginx, serversOnce } from "../support/servers-once";

type Raw = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

const TSIG: PdnsTsigKey = { name: "launchpad-acme-apply", algorithm: "hmac-sha256", secret: crypto.randomBytes(32).toString("base64") };

const ZONES = ["preview.test", "wild.test", "fail.test"];

// Started once per process under Stryker (one mutant run after another), per file under mocha.
const acmeServers = serversOnce("acme-apply", async (context, stopLater) => {
  const pdnsBinary = requireBinary(context, "pdns_server", "pdns-server");
  requireBinary(context, "sqlite3", "sqlite3");
  const nginx = stopLater(await startNginx(context));
  const sshd = stopLater(await startSshd(context));
  const pdns = stopLater(await PowerDnsServer.start(pdnsBinary));
  const pebble = stopLater(await startPebble(context, { dnsPort: pdns.dnsPort, httpPort: nginx.httpPort }));
  await pdns.createZone("preview.test");
  await pdns.createZone("wild.test", [TSIG]);
  await pdns.createZone("fail.test");
  // Names below `away.fail.test` are delegated elsewhere: PowerDNS answers a referral, never their TXT.
  await pdns.api("PATCH", "/zones/fail.test.", { rrsets: [{ name: "away.fail.test.", type: "NS", ttl: 60, changetype: "REPLACE", records: [{ content: "ns.nowhere.invalid.", disabled: false }] }] });
  return { nginx, sshd, pdns, pebble };
}, async ({ nginx, pdns }) => {
  await emptyNginx(nginx);
  // No TXT value an earlier run left (the failed DNS-01 test asserts there is none).
  for (const zone of ZONES) {
    const { rrsets } = await pdns.api("GET", `/zones/${zone}.`) as { rrsets: { name: string; type: string }[] };
    const txt = rrsets.filter((r) => r.type === "TXT").map((r) => ({ name: r.name, type: "TXT", changetype: "DELETE" }));
    if (txt.length) await pdns.api("PATCH", `/zones/${zone}.`, { rrsets: txt });
  }
});

describe("AcmeCertificate's issuing layer on Pebble, PowerDNS and nginx over real SSH (integration, in process)", function () {
  this.timeout(180_000);
  let nginx: TestNginx;
  let sshd: TestSshd;
  let pdns: PowerDnsServer;
  let pebble: TestPebble;

  before(async function () {
    ({ nginx, sshd, pdns, pebble } = await acmeServers.start(this));
  });
  after(() => acmeServers.stop());

  const label = (prefix: string) => `${prefix}-${crypto.randomBytes(3).toString("hex")}`;
  /** A name under preview.test that resolves to the test nginx, so Pebble's HTTP-01 reaches it. */
  async function resolvable(prefix: string): Promise<string> {
    const hostname = `${label(prefix)}.preview.test`;
    await pdns.api("PATCH", "/zones/preview.test.", { rrsets: [{ name: `${hostname}.`, type: "A", ttl: 60, changetype: "REPLACE", records: [{ content: "127.0.0.1", disabled: false }] }] });
    return hostname;
  }
  const raw = (hostname: string, extra: Raw = {}): Raw => ({
    proxy: { ...proxyHost(sshd, nginx), privateKey: sshd.privateKey },
    hostname, directoryUrl: pebble.directoryUrl, directoryCa: pebble.directoryCa, email: "ops@preview.test", ...extra,
  });
  async function checked(input: Raw): Promise<Raw> {
    const result = await provider.check!({}, input);
    assert.deepStrictEqual(result.failures ?? [], []);
    return result.inputs;
  }
  async function issue(input: Raw): Promise<{ id: string; outs: Raw }> {
    const { id, outs } = await provider.create(await checked(input));
    return { id, outs: outs! };
  }
  /** What a failed or finished issue must not leave: tokens, challenge servers, unused keys. */
  function leftovers(): string[] {
    const confDir = nginx.confDir;
    const tokens = `${confDir}/acme/.well-known/acme-challenge`;
    return [
      ...(fs.existsSync(tokens) ? fs.readdirSync(tokens).map((f) => `token ${f}`) : []),
      ...fs.readdirSync(`${confDir}/http`).filter((f) => f.startsWith("_acme-")),
      ...(fs.existsSync(`${confDir}/certs`) ? fs.readdirSync(`${confDir}/certs`).filter((f) => f.endsWith(".next")) : []),
    ];
  }
  const txt = async (name: string) => (await pdns.query(name, "TXT")).answers.map((a) => String((a as { data: Buffer[] }).data.map(String).join("")));

  // The quick one first: mutation testing stops at the first test that fails.
  it("refuses inputs that are not complete or not valid before any connection, naming the field", async () => {
    const bad = await provider.check!({}, raw("x.preview.test", { email: "ops" }));
    assert.deepStrictEqual(bad.failures!.map((f) => f.property), ["email"]);
    await assert.rejects(provider.create(raw("x.preview.test", { email: "ops" })), (error: any) => error.code === "ERR_VALIDATION" && error.problems[0].property === "email");
    const good = await provider.check!({}, raw("x.preview.test"));
    assert.deepStrictEqual([good.failures, good.inputs.challenge, good.inputs.keyType, good.inputs.renewBeforeDays, good.inputs.proxy.lockFile],
      [undefined, "http-01", "ec-p256", 30, `${nginx.confDir}/.launchpad.lock`], "check hands back the inputs with their defaults, as state and diff see them");
    const unknown = raw("x.preview.test", { email: "04da6b54-80e4-46f7-96ec-b56ff0331ba9" });
    await assert.rejects(provider.create(unknown), (error: any) =>
      error.code === "ERR_VALIDATION" && error.problems[0].property === "(inputs)" && error.problems[0].reason === "values are still unknown");
  });

  it("refuses a directory whose TLS certificate does not chain to the given CA, or to the system's when none is given, and leaves no key", async () => {
    const hostname = `${label("pin")}.preview.test`;
    const refused = (error: Error) => {
      assert.ok(isLaunchpadError(error, "ERR_ACME"), String(error));
      assert.ok(error.message.startsWith(`ACME directory ${pebble.directoryUrl}: its TLS certificate is not trusted (`), error.message);
      assert.match(error.message, /give the CA it chains to as directoryCa$/);
      return true;
    };
    // Another CA (the test nginx's self-signed certificate) pinned for Pebble's origin.
    await assert.rejects(issue(raw(hostname, { directoryCa: fs.readFileSync(nginx.certificate, "utf8") })), refused);
    const { directoryCa: _ca, ...systemCas } = raw(hostname);
    await assert.rejects(issue(systemCas), refused);
    // Nothing listens there: named at once, not after acme-client's minute of retries.
    const closed = await new Promise<number>((resolve) => { const server = net.createServer().listen(0, "127.0.0.1", () => { const { port } = server.address() as net.AddressInfo; server.close(() => resolve(port)); }); });
    await assert.rejects(issue(raw(hostname, { directoryUrl: `https://127.0.0.1:${closed}/dir` })), (error: Error) => {
      assert.ok(isLaunchpadError(error, "ERR_ACME"), String(error));
      assert.match(error.message, new RegExp(`^ACME directory https://127\\.0\\.0\\.1:${closed}/dir: not reachable \\(connect ECONNREFUSED`));
      return true;
    });
    assert.deepStrictEqual(leftovers(), []);
  });

  it("names the account step when the account key is one ACME cannot sign with, and leaves no key", async () => {
    const hostname = await resolvable("edkey");
    const accountKey = crypto.generateKeyPairSync("ed25519").privateKey.export({ type: "pkcs8", format: "pem" }).toString();
    await assert.rejects(issue(raw(hostname, { accountKey })), (error: any) => {
      assert.ok(isLaunchpadError(error, "ERR_ACME"), String(error));
      assert.ok(error.cause instanceof Error, "the signing library's error is kept as the cause");
      assert.strictEqual(error.message, `ACME account at ${pebble.directoryUrl}: ${error.cause.message}`);
      return true;
    });
    assert.deepStrictEqual(leftovers(), []);
  });

  it("names the order step when the ACME server refuses the name, and leaves no key", async () => {
    const hostname = `${label("refused")}.blocked.test`;
    await assert.rejects(issue(raw(hostname)), (error: any) => {
      assert.ok(isLaunchpadError(error, "ERR_ACME"), String(error));
      assert.strictEqual(error.message, `ACME order for ${hostname}: ${(error.cause as Error).message}`);
      assert.match(error.message, /blocked/i, "the server's reason");
      return true;
    });
    assert.deepStrictEqual(leftovers(), []);
  });

  it("fails with the DNS server's own error when it refuses the API key, writing nothing and leaving no key", async () => {
    const zone = `${label("key")}.wild.test`;
    const server = { kind: "powerdns", url: pdns.apiUrl, apiKey: "not-the-key", allowPlainHttp: true };
    await assert.rejects(issue(raw(`*.${zone}`, { dns: { zone: "wild.test", server } })), (error: any) => {
      assert.ok(isLaunchpadError(error, "ERR_DNS_UPDATE"), `the DNS failure itself, not an ACME one: ${String(error)}`);
      assert.match(error.message, /the API key was rejected \(HTTP 401\)/);
      return true;
    });
    assert.deepStrictEqual(await txt(`_acme-challenge.${zone}`), []);
    assert.deepStrictEqual(leftovers(), []);
    assert.ok(!fs.existsSync(`${nginx.confDir}/certs/_.${zone}.crt`));
  });

  it("tries a directory that resets its first connection again (a restart) and issues", async () => {
    const hostname = await resolvable("blip");
    const target = new URL(pebble.directoryUrl);
    // A TCP relay in front of Pebble: the first connection is reset, the rest pass through (TLS end to end).
    let connections = 0;
    const relay = net.createServer((socket) => {
      if (++connections === 1) return socket.resetAndDestroy();
      const upstream = net.connect(Number(target.port), target.hostname);
      socket.pipe(upstream).pipe(socket);
      const close = () => { socket.destroy(); upstream.destroy(); };
      socket.on("error", close);
      upstream.on("error", close);
    });
    await new Promise<void>((resolve) => relay.listen(0, "127.0.0.1", resolve));
    try {
      const url = new URL(target.pathname, `https://127.0.0.1:${(relay.address() as net.AddressInfo).port}`).href;
      const { id, outs } = await issue(raw(hostname, { directoryUrl: url }));
      assert.ok(connections >= 2, `the directory was asked again after the reset (${connections} connection(s))`);
      assert.strictEqual(new crypto.X509Certificate(fs.readFileSync(outs.certificatePath, "utf8")).subjectAltName, `DNS:${hostname}`);
      await provider.delete!(id, outs);
      assert.deepStrictEqual(leftovers(), []);
    } finally {
      relay.close();
    }
  });

  it("issues by HTTP-01 with a key made on the host: outputs describe the installed certificate, nothing else is left", async () => {
    const hostname = await resolvable("http");
    const { id, outs } = await issue(raw(hostname));
    const certificatePath = `${nginx.confDir}/certs/${hostname}.crt`;
    const keyPath = `${nginx.confDir}/certs/${hostname}.key`;
    assert.strictEqual(id, `${sshd.host}:${certificatePath}`);
    assert.deepStrictEqual([outs.certificatePath, outs.keyPath, outs.schemaVersion, outs.challenge], [certificatePath, keyPath, 1, "http-01"]);
    const chain = fs.readFileSync(certificatePath, "utf8");
    const leaf = new crypto.X509Certificate(chain);
    assert.strictEqual(leaf.subjectAltName, `DNS:${hostname}`);
    assert.ok(leaf.checkPrivateKey(crypto.createPrivateKey(fs.readFileSync(keyPath))), "the key on the host is the certificate's");
    assert.strictEqual(crypto.createPrivateKey(fs.readFileSync(keyPath)).asymmetricKeyType, "ec");
    assert.strictEqual(fs.statSync(keyPath).mode & 0o777, 0o600);
    assert.deepStrictEqual(
      { serialNumber: outs.serialNumber, notAfter: outs.notAfter, notBefore: outs.notBefore, issuer: outs.issuer, certificateSha256: outs.certificateSha256, issuedSha256: outs.issuedSha256 },
      { ...describeCertificate(chain), issuedSha256: describeCertificate(chain).certificateSha256 },
    );
    assert.strictEqual(outs.serialNumber, leaf.serialNumber);
    assert.strictEqual(outs.issuer, leaf.issuer.replace(/\n/g, ", "));
    assert.strictEqual(outs.notAfter, new Date(leaf.validTo).toISOString());
    assert.match(outs.accountKey, /-----BEGIN PRIVATE KEY-----/);
    assert.match(outs.accountUrl, /^https:\/\/127\.0\.0\.1:\d+\//);
    // The account as the ACME server holds it (read with its key, through the directory's pinned CA).
    const account = await new acme.Client({ directoryUrl: pebble.directoryUrl, accountKey: outs.accountKey, accountUrl: outs.accountUrl }).updateAccount({});
    assert.deepStrictEqual([account.status, account.contact], ["valid", ["mailto:ops@preview.test"]], "the email is the account's contact");
    assert.ok(!JSON.stringify(outs).includes(fs.readFileSync(keyPath, "utf8").split("\n")[1]), "the certificate's key is not in the outputs");
    assert.deepStrictEqual(leftovers(), []);
    assert.strictEqual((await nginx.test()).ok, true);
    await provider.delete!(id, outs);
    assert.deepStrictEqual([fs.existsSync(certificatePath), fs.existsSync(keyPath)], [false, false]);
  });

  it("issues again in place with the same account when due, records other changes without issuing, and reads the host's state", async () => {
    const hostname = await resolvable("renew");
    const { id, outs } = await issue(raw(hostname, { keyType: "rsa-2048" }));
    assert.strictEqual(crypto.createPrivateKey(fs.readFileSync(outs.keyPath)).asymmetricKeyType, "rsa");
    assert.deepStrictEqual(await provider.read!(id, outs), { id, props: outs });
    assert.strictEqual((await provider.read!("", outs)).id, id, "an import without id gets the natural key");

    const recorded = (await provider.update!(id, outs, await checked(raw(hostname, { keyType: "rsa-2048", email: "new@preview.test" })))).outs!;
    assert.deepStrictEqual([recorded.serialNumber, recorded.email, recorded.accountKey], [outs.serialNumber, "new@preview.test", outs.accountKey]);

    const keyBefore = fs.readFileSync(outs.keyPath, "utf8");
    const due = await checked(raw(hostname, { keyType: "rsa-2048", renewBeforeDays: 3650 }));
    assert.strictEqual((await provider.diff!(id, outs, due)).changes, true);
    const renewed = (await provider.update!(id, outs, due)).outs!;
    assert.notStrictEqual(renewed.serialNumber, outs.serialNumber);
    assert.strictEqual(renewed.accountUrl, outs.accountUrl, "the same account");
    assert.strictEqual(renewed.accountKey, outs.accountKey);
    assert.notStrictEqual(fs.readFileSync(outs.keyPath, "utf8"), keyBefore, "a fresh key");
    assert.strictEqual(new crypto.X509Certificate(fs.readFileSync(outs.certificatePath)).serialNumber, renewed.serialNumber);

    fs.writeFileSync(outs.certificatePath, "not a certificate\n");
    const drifted = await provider.read!(id, renewed);
    assert.strictEqual(drifted.props!.certificateSha256, crypto.createHash("sha256").update("not a certificate\n").digest("hex"));
    assert.strictEqual(drifted.props!.serialNumber, renewed.serialNumber, "the rest is as stored");
    fs.rmSync(outs.keyPath);
    const keyless = await provider.read!(id, renewed);
    assert.strictEqual(keyless.id, id, "a certificate without its key is still tracked: forgetting it would strand the file");
    assert.strictEqual(keyless.props!.certificateSha256, "key-missing", "as drift, which the next up repairs");
    await provider.delete!(id, renewed);
    assert.ok(!fs.existsSync(outs.certificatePath));
    assert.deepStrictEqual(await provider.read!(id, renewed), { id: "", props: {} }, "both files gone: the certificate is gone");
  });

  it("keeps a given account key, and puts a name longer than a CN into the subjectAltName only", async () => {
    const accountKey = crypto.generateKeyPairSync("ec", { namedCurve: "P-256" }).privateKey.export({ type: "pkcs8", format: "pem" }).toString();
    const hostname = `*.${label(`long-${"x".repeat(50)}`)}.wild.test`;
    assert.ok(hostname.length > 64);
    const { id, outs } = await issue(raw(hostname, { accountKey, dns: { zone: "wild.test", server: { kind: "powerdns", url: pdns.apiUrl, apiKey: pdns.apiKey, allowPlainHttp: true } } }));
    assert.strictEqual(outs.accountKey, accountKey);
    const leaf = new crypto.X509Certificate(fs.readFileSync(outs.certificatePath));
    assert.strictEqual(leaf.subjectAltName, `DNS:${hostname}`);
    // The certificate gone but its key still there: tracked as drift, so the next up issues the pair again.
    fs.rmSync(outs.certificatePath);
    const certless = await provider.read!(id, outs);
    assert.deepStrictEqual([certless.id, certless.props!.certificateSha256], [id, "certificate-missing"]);
    // A key an interrupted issuance left beside it goes with the rest: no private key stays behind.
    fs.writeFileSync(`${outs.keyPath}.next`, "a key from an interrupted issuance\n");
    await provider.delete!(id, outs);
    assert.deepStrictEqual([outs.keyPath, `${outs.keyPath}.next`].filter((file) => fs.existsSync(file)), []);
  });

  it("fails an HTTP-01 validation (the name does not resolve), naming it, and leaves no token, server, key or file behind", async () => {
    const hostname = `${label("nowhere")}.preview.test`;
    await assert.rejects(issue(raw(hostname)), (error: Error) => {
      assert.ok(isLaunchpadError(error, "ERR_ACME"), String(error));
      assert.ok(error.message.startsWith(`http-01 validation of ${hostname}: `), error.message);
      assert.strictEqual(error.message, `http-01 validation of ${hostname}: ${(error.cause as Error).message}`, "the ACME server's reason, kept as the cause");
      return true;
    });
    assert.deepStrictEqual(leftovers(), []);
    assert.ok(!fs.existsSync(`${nginx.confDir}/certs/${hostname}.crt`));
    assert.strictEqual((await nginx.test()).ok, true);
  });

  it("uses a route's own challenge location instead of a challenge server when a route serves the name", async () => {
    const hostname = await resolvable("routed");
    const routeFile = `${nginx.confDir}/http/${hostname}.conf`;
    fs.writeFileSync(routeFile, [
      "server {", `    listen 127.0.0.1:${nginx.httpPort};`, `    server_name ${hostname};`,
      "    location ^~ /.well-known/acme-challenge/ {", `        root ${nginx.confDir}/acme;`, "    }", "    location / { return 404; }", "}", "",
    ].join("\n"));
    // A file at the challenge server's path tells whether it was written or removed: neither should happen.
    const serverFile = `${nginx.confDir}/http/_acme-${hostname}.conf`;
    fs.writeFileSync(serverFile, "# not the challenge server\n");
    await promisify(exec)(nginx.reloadCommand);
    try {
      const { id, outs } = await issue(raw(hostname));
      assert.equal(fs.readFileSync(serverFile, "utf8"), "# not the challenge server\n", "no challenge server written or removed");
      await provider.delete!(id, outs);
    } finally {
      fs.rmSync(routeFile, { force: true });
      fs.rmSync(serverFile, { force: true });
    }
  });

  it("issues a wildcard by DNS-01 over RFC 2136 + TSIG, beside a TXT value someone else keeps there, and removes only its own", async () => {
    const zone = `${label("w")}.wild.test`;
    const challengeName = `_acme-challenge.${zone}`;
    await pdns.api("PATCH", "/zones/wild.test.", { rrsets: [{ name: `${challengeName}.`, type: "TXT", ttl: 120, changetype: "REPLACE", records: [{ content: "\"someone-else\"", disabled: false }] }] });
    const { id, outs } = await issue(raw(`*.${zone}`, { dns: { zone: "wild.test", server: { kind: "rfc2136", host: "127.0.0.1", port: pdns.dnsPort, tsig: { ...TSIG } } } }));
    assert.strictEqual(outs.challenge, "dns-01");
    assert.strictEqual(outs.certificatePath, `${nginx.confDir}/certs/_.${zone}.crt`);
    assert.strictEqual(new crypto.X509Certificate(fs.readFileSync(outs.certificatePath)).subjectAltName, `DNS:*.${zone}`);
    assert.deepStrictEqual(await txt(challengeName), ["someone-else"], "the other value stays, ours is gone");
    const { rrsets } = await pdns.api("GET", "/zones/wild.test.") as { rrsets: { name: string; type: string; ttl: number }[] };
    assert.strictEqual(rrsets.find((r) => r.name === `${challengeName}.` && r.type === "TXT")?.ttl, 120, "and keeps the TTL it was given");
    await provider.delete!(id, outs);
  });

  it("issues by DNS-01 through the PowerDNS API where no record was, and leaves none", async () => {
    const zone = `${label("api")}.wild.test`;
    const { id, outs } = await issue(raw(`*.${zone}`, { dns: { zone: "wild.test", ttl: 30, server: { kind: "powerdns", url: pdns.apiUrl, apiKey: pdns.apiKey, allowPlainHttp: true } } }));
    assert.deepStrictEqual(await txt(`_acme-challenge.${zone}`), []);
    await provider.delete!(id, outs);
  });

  it("tracks a certificate whose connection dropped while it went into place, as drift the next update repairs", async () => {
    const zone = `${label("cut")}.wild.test`;
    const input = raw(`*.${zone}`, { dns: { zone: "wild.test", server: { kind: "powerdns", url: pdns.apiUrl, apiKey: pdns.apiKey, allowPlainHttp: true } } });
    // The first `nginx -t` (the install's: DNS-01 needs no challenge server) kills the SSH session it runs in; later ones test for real.
    const marker = `${nginx.dir}/${label("dropped")}`;
    fs.writeFileSync(`${marker}.sh`, [
      "#!/bin/sh", `if [ -e '${marker}' ]; then exec ${nginx.testCommand}; fi`, `touch '${marker}'`, "p=$$",
      "while [ \"$p\" -gt 1 ]; do", "  p=$(ps -o ppid= -p \"$p\" | tr -d ' ')",
      "  case \"$(ps -o comm= -p \"$p\")\" in sshd*) kill -9 \"$p\"; exit 1;; esac", "done", "exit 1", "",
    ].join("\n"), { mode: 0o755 });
    input.proxy.testCommand = `${marker}.sh`;
    const certificatePath = `${nginx.confDir}/certs/_.${zone}.crt`;
    const id = `${sshd.host}:${certificatePath}`;
    let tracked: Raw = {};
    await assert.rejects(issue(input), (error: any) => {
      assert.strictEqual(error.code, "ERR_SSH_CONNECT", String(error));
      assert.strictEqual(error.id, id, "the files left on the host are tracked");
      assert.strictEqual(error.properties.certificateSha256, "install-interrupted");
      assert.notStrictEqual(error.properties.issuedSha256, "install-interrupted");
      tracked = error.properties;
      return true;
    });
    assert.deepStrictEqual(leftovers(), [], "no key waits beside the installed one");
    const news = await checked(input);
    assert.strictEqual((await provider.diff!(id, tracked, news)).changes, true, "the next up issues again");
    const repaired = (await provider.update!(id, tracked, news)).outs!;
    assert.notStrictEqual(repaired.serialNumber, tracked.serialNumber, "a new certificate");
    assert.strictEqual(repaired.certificateSha256, repaired.issuedSha256);
    const leaf = new crypto.X509Certificate(fs.readFileSync(certificatePath));
    assert.strictEqual(leaf.serialNumber, repaired.serialNumber);
    assert.ok(leaf.checkPrivateKey(crypto.createPrivateKey(fs.readFileSync(repaired.keyPath))), "the key on the host is the new certificate's");
    assert.strictEqual((await nginx.test()).ok, true);
    await provider.delete!(id, repaired);
  });

  it("fails a DNS-01 validation (the name is delegated away), naming it, and removes the record it wrote", async () => {
    const hostname = `*.${label("sub")}.away.fail.test`;
    await assert.rejects(issue(raw(hostname, { dns: { zone: "fail.test", server: { kind: "powerdns", url: pdns.apiUrl, apiKey: pdns.apiKey, allowPlainHttp: true } } })), (error: Error) => {
      assert.ok(isLaunchpadError(error, "ERR_ACME"), String(error));
      assert.ok(error.message.startsWith(`dns-01 validation of ${hostname}: `), error.message);
      assert.strictEqual(error.message, `dns-01 validation of ${hostname}: ${(error.cause as Error).message}`, "the ACME server's reason, kept as the cause");
      return true;
    });
    const zone = await pdns.api("GET", "/zones/fail.test.") as { rrsets: { type: string }[] };
    assert.deepStrictEqual(zone.rrsets.filter((r) => r.type === "TXT"), [], "no challenge record is left");
    assert.deepStrictEqual(leftovers(), []);
  });

  it("removes nothing while a route still uses the certificate (nginx -t refuses)", async () => {
    const hostname = await resolvable("inuse");
    const { id, outs } = await issue(raw(hostname));
    const routeFile = `${nginx.confDir}/http/${hostname}.conf`;
    fs.writeFileSync(routeFile, `server { listen 127.0.0.1:${nginx.httpsPort} ssl; server_name ${hostname}; ssl_certificate ${outs.certificatePath}; ssl_certificate_key ${outs.keyPath}; return 204; }\n`);
    try {
      await assert.rejects(provider.delete!(id, outs), (error: unknown) => isLaunchpadError(error, "ERR_NGINX_TEST"));
      assert.deepStrictEqual([fs.existsSync(outs.certificatePath), fs.existsSync(outs.keyPath)], [true, true]);
    } finally {
      fs.rmSync(routeFile, { force: true });
    }
    await provider.delete!(id, outs);
    assert.deepStrictEqual([fs.existsSync(outs.certificatePath), fs.existsSync(outs.keyPath)], [false, false]);
  });

  it("makes the key type asked for, and issues again in place with a new key when the key type changes", async () => {
    const zone = `${label("keys")}.wild.test`;
    const input = raw(`*.${zone}`, { keyType: "ec-p384", dns: { zone: "wild.test", server: { kind: "powerdns", url: pdns.apiUrl, apiKey: pdns.apiKey, allowPlainHttp: true } } });
    const { id, outs } = await issue(input);
    const keyOf = () => crypto.createPrivateKey(fs.readFileSync(outs.keyPath));
    assert.deepStrictEqual([keyOf().asymmetricKeyType, keyOf().asymmetricKeyDetails?.namedCurve], ["ec", "secp384r1"]);
    const rsa = (await provider.update!(id, outs, await checked({ ...input, keyType: "rsa-4096" }))).outs!;
    assert.deepStrictEqual([keyOf().asymmetricKeyType, keyOf().asymmetricKeyDetails?.modulusLength], ["rsa", 4096]);
    assert.notStrictEqual(rsa.serialNumber, outs.serialNumber);
    assert.ok(new crypto.X509Certificate(fs.readFileSync(outs.certificatePath)).checkPrivateKey(keyOf()), "the new certificate is the new key's");
    await provider.delete!(id, rsa);
  });

  it("issues with an account of its own after the account key or the directory changes", async () => {
    const hostname = await resolvable("acct");
    const { id, outs } = await issue(raw(hostname));
    // A new account key (and a renewal due): the old account cannot sign for it, the new key gets its own.
    const accountKey = crypto.generateKeyPairSync("ec", { namedCurve: "P-256" }).privateKey.export({ type: "pkcs8", format: "pem" }).toString();
    const rekeyed = (await provider.update!(id, outs, await checked(raw(hostname, { accountKey, renewBeforeDays: 3650 })))).outs!;
    assert.strictEqual(rekeyed.accountKey, accountKey);
    assert.notStrictEqual(rekeyed.serialNumber, outs.serialNumber, "issued again");
    assert.notStrictEqual(rekeyed.accountUrl, outs.accountUrl, "another account");
    // The same key at another directory (Pebble behind a relay: another origin): that CA knows no account of it yet.
    const target = new URL(pebble.directoryUrl);
    const relay = await startTcpRelay({ host: target.hostname, port: Number(target.port) });
    try {
      const origin = `https://127.0.0.1:${relay.port}`;
      const moved = (await provider.update!(id, rekeyed, await checked(raw(hostname, { accountKey, directoryUrl: new URL(target.pathname, origin).href })))).outs!;
      assert.notStrictEqual(moved.serialNumber, rekeyed.serialNumber, "issued again by the new directory");
      assert.ok(moved.accountUrl.startsWith(`${origin}/`), `an account at the new directory: ${moved.accountUrl}`);
      await provider.delete!(id, moved);
    } finally {
      await relay.close();
    }
    assert.deepStrictEqual(leftovers(), []);
  });

  // Last: it waits out the 30 s the directory is given to answer.
  it("gives up on a directory that accepts the connection but never answers, once, naming it", async () => {
    const hostname = `${label("silent")}.preview.test`;
    const held: net.Socket[] = [];
    const silent = net.createServer((socket) => { held.push(socket); socket.on("error", () => undefined); });
    await new Promise<void>((resolve) => silent.listen(0, "127.0.0.1", resolve));
    try {
      const url = `https://127.0.0.1:${(silent.address() as net.AddressInfo).port}/dir`;
      await assert.rejects(issue(raw(hostname, { directoryUrl: url })), (error: Error) => {
        assert.ok(isLaunchpadError(error, "ERR_ACME"), String(error));
        assert.strictEqual(error.message, `ACME directory ${url}: not reachable (no answer within 30 s)`);
        return true;
      });
      assert.strictEqual(held.length, 1, "a silent directory is not asked again: it would only cost another 30 s");
    } finally {
      for (const socket of held) socket.destroy();
      silent.close();
    }
    assert.deepStrictEqual(leftovers(), []);
  });
});
