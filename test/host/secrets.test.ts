// Secrets are sealed by the resource classes, not by the caller: every credential below is given as a
// PLAIN string, the program runs through the real dynamic-provider host against the sandbox, a real
// nginx over a real OpenSSH and a real PowerDNS, and the checkpoint file, the serialized provider
// text and the host's output are searched for each value.
import * as assert from "assert";
import * as crypto from "crypto";
import { LaunchpadContainer } from "../../src/container";
import { ProxmoxPermission } from "../../src/acl";
import { ContainerDeployment } from "../../src/deploy";
import { DnsRecord } from "../../src/dnsRecord";
import { ProxyRoute } from "../../src/proxyRoute";
import { PreviewEnvironment } from "../../src/preview";
import { startSandbox, type Sandbox } from "../../sandbox";
import { requireBinary } from "../../devstack/binaries";
import { TestEngine } from "../../devstack/engine";
import { startNginx, type TestNginx } from "../../devstack/nginx";
import { PdnsTsigKey, PowerDnsServer } from "../../devstack/pdns";
import { startSshd, type TestSshd } from "../../devstack/sshd";
import { TEMPLATE } from "../unit/container/fixtures";
import { proxyHost } from "../../devstack/proxy-host";
import { reservePortBlock, type PortBlock } from "../support/ports";

const ZONE = "sealed.test";
const TSIG: PdnsTsigKey = { name: "launchpad-sealed", algorithm: "hmac-sha256", secret: crypto.randomBytes(32).toString("base64") };
const PASSWORD = "plain-root-password-5b1f";
const ENV_VALUE = "plain-env-value-\u00e9-7c2d";
const DEPLOY_ENV_VALUE = "plain-deploy-env-9e41";
/** A multi-line value, as a certificate or a .env file would be. */
const MULTI_LINE_VALUE = "first-multi-line-7a\nsecond-multi-line-7a";
const PASSPHRASE = "plain-key-passphrase-3d8e";
const BASIC_AUTH_PASSWORD = "plain-basic-auth-6f02";

describe("secrets given as plain strings are sealed by the resources (real host)", function () {
  this.timeout(300_000);
  let sandbox: Sandbox;
  let nginx: TestNginx | undefined;
  let sshd: TestSshd | undefined;
  let pdns: PowerDnsServer | undefined;
  let encryptedKey = "";
  const engines: TestEngine[] = [];
  let ports: PortBlock;

  before(async function () {
    const pdnsBinary = requireBinary(this, "pdns_server", "pdns-server");
    requireBinary(this, "sqlite3", "sqlite3");
    sandbox = await startSandbox({ taskDurationsMs: { vzcreate: 20, vzstart: 10, vzshutdown: 10, vzstop: 10, vzdestroy: 10 }, users: [{ userid: "alice@pve", password: "alice-password" }] });
    nginx = await startNginx(this);
    sshd = await startSshd(this);
    pdns = await PowerDnsServer.start(pdnsBinary);
    await pdns.createZone(ZONE, [TSIG]);
    encryptedKey = await sshd.encryptedKey(PASSPHRASE);
    ports = await reservePortBlock();
  });
  after(async () => {
    ports?.release();
    for (const engine of engines) await engine.close();
    await pdns?.stop();
    await sshd?.stop();
    await nginx?.stop();
    await sandbox?.close();
  });

  const tokenSecret = () => sandbox.apiToken.split("=").pop()!;
  /** The secret values, by what they are; the private key is searched by its body line. */
  const secrets = () => ({
    "API token secret": tokenSecret(),
    "root password": PASSWORD,
    "container env value": ENV_VALUE,
    "deploy env value": DEPLOY_ENV_VALUE,
    "first line of a multi-line value": "first-multi-line-7a",
    "second line of a multi-line value": "second-multi-line-7a",
    "private key": sshd!.privateKey.split("\n")[1],
    "PowerDNS API key": pdns!.apiKey,
    "TSIG secret": TSIG.secret,
    "Proxmox root password": sandbox.password,
    "key passphrase": PASSPHRASE,
    "passphrase-protected private key": encryptedKey.split("\n")[1],
    "basic-auth password": BASIC_AUTH_PASSWORD,
  });
  const connection = () => ({ endpoint: sandbox.endpoint, apiToken: sandbox.apiToken, fingerprint: sandbox.fingerprint });
  const proxy = () => ({
    ...proxyHost(sshd!, nginx!), privateKey: sshd!.privateKey,
  });

  function assertSealed(engine: TestEngine, when: string): void {
    const texts: Array<[string, string]> = [
      ["state file", engine.stateText()],
      ["provider text", engine.state.map((r) => r.provider ?? "").join("\n")],
      ["host output", engine.hostLogs.join("\n")],
    ];
    for (const [where, text] of texts) {
      for (const [what, value] of Object.entries(secrets())) {
        assert.ok(!text.includes(value), `${when}: the ${where} holds the ${what} in clear`);
      }
    }
  }

  it("each resource on its own: ProxyRoute, DnsRecord, LaunchpadContainer, ContainerDeployment, ProxmoxPermission", async () => {
    const engine = new TestEngine({ project: "launchpad-sealed", stack: "resources" });
    engines.push(engine);
    const program = (revision: string) => () => {
      const ct = new LaunchpadContainer("ct", { hostname: "sealed-1", template: TEMPLATE, password: PASSWORD, env: { TOKEN: ENV_VALUE }, connection: connection() });
      // An admin's password login, given plainly, as the connection.
      new ProxmoxPermission("perm", { path: ct.vmid.apply((v) => `/vms/${v}`), role: "PVEVMUser", user: "alice@pve",
        connection: { endpoint: sandbox.endpoint, username: sandbox.username, password: sandbox.password, fingerprint: sandbox.fingerprint } });
      // An HTTP route: a passphrase-protected key with its passphrase, and a basic-auth password, all plain.
      new ProxyRoute("web", {
        proxy: { ...proxy(), privateKey: encryptedKey, passphrase: PASSPHRASE },
        http: { hostname: "web.sealed.test", target: { host: "127.0.0.1", port: 9 }, tls: "none", access: { basicAuth: { users: [{ name: "team", password: BASIC_AUTH_PASSWORD }] } } },
      });
      new ProxyRoute("route", { proxy: proxy(), stream: { protocol: "tcp", portRange: { from: ports.from, to: ports.from + 99 }, target: { host: "127.0.0.1", port: 9 } } });
      new DnsRecord("api", { zone: ZONE, name: "api", type: "A", values: ["192.0.2.1"], server: { kind: "powerdns", url: pdns!.apiUrl, apiKey: pdns!.apiKey, allowPlainHttp: true } });
      new DnsRecord("upd", { zone: ZONE, name: "upd", type: "A", values: ["192.0.2.2"], server: { kind: "rfc2136", host: "127.0.0.1", port: pdns!.dnsPort, tsig: { ...TSIG } } });
      new ContainerDeployment("deploy", {
        host: sshd!.host, port: sshd!.port, user: sshd!.user, privateKey: sshd!.privateKey, revision,
        env: { SECRET: DEPLOY_ENV_VALUE, MULTI: MULTI_LINE_VALUE },
        // The values are printed whole, on several lines, and cut into separate writes (chunks).
        commands: [
          "echo \"deploying $LAUNCHPAD_REVISION\"",
          "printf '%s\\n' \"$MULTI\"",
          // Seven bytes per write, so each value reaches the provider cut into several chunks.
          "rest=\"$SECRET and $MULTI\n\"; while [ -n \"$rest\" ]; do c=\"${rest%\"${rest#???????}\"}\"; [ -n \"$c\" ] || c=\"$rest\"; printf '%s' \"$c\"; rest=\"${rest#\"$c\"}\"; sleep 0.05; done",
        ],
        jump: { host: sshd!.host, port: sshd!.port, user: sshd!.user, privateKey: sshd!.privateKey, hostKeyFingerprint: sshd!.hostKeyFingerprint },
      });
    };
    await engine.up(program("r1"));
    assertSealed(engine, "after create");
    // A newline in the revision cannot forge a log line.
    await engine.up(program("r2\nforged-line"));
    assert.ok(!engine.hostLogs.some((line) => line.startsWith("forged-line")), engine.hostLogs.join("\n"));
    assert.ok(engine.hostLogs.some((line) => line.includes("[secret] and [secret]")), `the output was redacted, not dropped:\n${engine.hostLogs.join("\n")}`);
    await engine.refresh();
    assertSealed(engine, "after update and refresh");
    await engine.destroy();
    assertSealed(engine, "after destroy");
    assert.strictEqual(sandbox.containers().length, 0);
  });

  it("refuses user:password@ in a PowerDNS URL, naming the field, with the password nowhere", async () => {
    const engine = new TestEngine({ project: "launchpad-sealed", stack: "userinfo" });
    engines.push(engine);
    const url = `https://launchpad:pw-userinfo-31@127.0.0.1:9`;
    const error = await engine.up(() => {
      new DnsRecord("bad", { zone: ZONE, name: "bad", type: "A", values: ["192.0.2.9"], server: { kind: "powerdns", url, apiKey: pdns!.apiKey } });
    }).then(() => undefined, (e: Error) => e);
    assert.ok(error, "the up fails");
    for (const [where, text] of [["error", error.message], ["host output", engine.hostLogs.join("\n")], ["state file", engine.stateText()]]) {
      assert.ok(!text.includes("pw-userinfo-31"), `${where}: ${text}`);
    }
    // Refused in check (fetch could never send it): named by its field, the password not echoed.
    assert.match(error.message, /server\.url.*credentials/, error.message);
  });

  it("PreviewEnvironment: proxy key, DNS key, deploy env and connection token given plainly", async () => {
    const engine = new TestEngine({ project: "launchpad-sealed", stack: "preview" });
    engines.push(engine);
    const program = () => {
      new PreviewEnvironment("pv", {
        branch: "feature/sealed", template: TEMPLATE, domain: ZONE, password: PASSWORD, env: { TOKEN: ENV_VALUE }, connection: connection(),
        services: { tcp: { db: 5432 } },
        proxy: { ...proxy(), portRange: { from: ports.from + 100, to: ports.to } },
        dns: { kind: "self-hosted", server: { kind: "powerdns", url: pdns!.apiUrl, apiKey: pdns!.apiKey, allowPlainHttp: true } },
        deploy: { commands: ["true"], revision: "r1", env: { SECRET: DEPLOY_ENV_VALUE }, privateKey: sshd!.privateKey, user: sshd!.user, via: "direct", address: sshd!.host, port: sshd!.port },
        owner: "alice@pve",
      });
    };
    await engine.up(program);
    assertSealed(engine, "after up");
    await engine.destroy();
    assertSealed(engine, "after destroy");
    assert.strictEqual(sandbox.containers().length, 0);
  });
});
