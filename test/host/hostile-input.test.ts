// Every field of every resource, through the real dynamic-provider host: an unknown key and a hostile
// value each are refused in Check with a failure naming the field, and nothing is sent (the sandbox's
// request log stays empty, no Create runs). The tables must cover every key of each schema.
import { strict as assert } from "assert";
import { containerInputsSchema } from "../../provider/container/schema";
import { PermissionInputsSchema } from "../../provider/acl/schema";
import { DeploymentInputsSchema } from "../../provider/deploy/schema";
import { DnsRecordArgs } from "../../provider/dns/schema";
import { HttpRouteSchema, ProxyHostSchema, StreamRouteSchema } from "../../provider/proxy/schema";
import { ProxmoxPermission } from "../../src/acl";
import { LaunchpadContainer } from "../../src/container";
import { ContainerDeployment } from "../../src/deploy";
import { DnsRecord } from "../../src/dnsRecord";
import { ProxyRoute } from "../../src/proxyRoute";
import { startSandbox, type Sandbox } from "../../sandbox";
import { TestEngine } from "../../devstack/engine";
import { DynamicProviderHost } from "../../devstack/host";
import { PUBLIC_KEY, TEMPLATE } from "../unit/container/fixtures";

const KEY = "-----BEGIN OPENSSH PRIVATE KEY-----\nAAAA\n-----END OPENSSH PRIVATE KEY-----";
const FP = `SHA256:${"A".repeat(43)}`;
const HUGE = "a".repeat(100_000);
const PROXY = { host: "proxy.example.com", user: "launchpad", privateKey: KEY, hostKeyFingerprint: FP };

type Case = [field: string, value: unknown];
interface Table { type: string; valid: Record<string, unknown>; cases: Case[]; objects: string[]; covers: string[] }

/** Sets `path` (a.b.c) in a copy of `base`; `undefined` removes it. */
function withField(base: Record<string, unknown>, path: string, value: unknown): Record<string, unknown> {
  const copy = structuredClone(base);
  const keys = path.split(".");
  let cursor = copy as Record<string, any>;
  for (const key of keys.slice(0, -1)) cursor = cursor[key] = { ...(cursor[key] ?? {}) };
  cursor[keys[keys.length - 1]] = value;
  return copy;
}

const TABLES: Table[] = [
  {
    type: "Container",
    valid: { hostname: "web-1", template: TEMPLATE },
    covers: Object.keys((containerInputsSchema as unknown as { shape: object }).shape),
    objects: ["", "network", "features", "timeouts", "connection"],
    cases: [
      ["identity", "not-hex"], ["hostname", "web-"], ["hostname", "web;reboot"], ["image", `docker.io/library/${HUGE}`], ["template", "local:vztmpl/../x.tar"],
      ["imageCredentials", { username: "u", password: "p" }], ["imageCredentials.username", ""],
      ["clone", 5], ["node", `n${HUGE}`], ["node", "pve1;x"], ["vmid", 99], ["cores", 0], ["memory", 1], ["swap", -1], ["diskSize", 0],
      ["storage", `s${HUGE}`], ["storage", "local-"], ["templateStorage", "bad storage"], ["network.bridge", "vmbr0123456789ab"], ["network.vlan", 5000],
      ["network.ipv4", "10.0.0.1"], ["network.ipv6", "fe80::1"], ["network.firewall", "yes"], ["network.mtu", 100], ["nameserver", ["1.1.1.1;x"]],
      ["searchdomain", ["bad-"]], ["sshPublicKeys", [KEY]], ["password", "abc"], ["unprivileged", "true"], ["features.nesting", 1],
      ["env", { "1BAD": "x" }], ["env", { constructor: "x" }], ["env", { toString: "x" }], ["env", { A: "a\u0000b" }], ["entrypoint", "a\u0001b"],
      ["tags", ["bad tag"]], ["pool", `p${HUGE}`], ["pool", "a/b/c/d"], ["description", HUGE], ["onBoot", "no"], ["started", 1], ["waitForIp", "x"],
      ["timeouts.create", -1], ["connection.endpoint", "http://pve:8006"], ["connection.apiToken", "root"], ["connection.username", ""],
      ["connection.password", ""], ["connection.fingerprint", "AB:CD"], ["connection.caCert", "not pem"], ["connection.insecure", "yes"],
    ],
  },
  {
    type: "ProxyRoute",
    valid: { proxy: PROXY, http: { hostname: "app.example.com", target: { host: "10.0.0.5", port: 3000 }, tls: "none" } },
    covers: [...Object.keys(ProxyHostSchema.shape).map((k) => `proxy.${k}`), ...Object.keys(HttpRouteSchema.shape).map((k) => `http.${k}`), "proxy", "http", "stream"],
    objects: ["", "proxy", "http", "http.target"],
    cases: [
      ["proxy.host", "proxy host"], ["proxy.port", 0], ["proxy.user", "root;id"], ["proxy.privateKey", "not a key"], ["proxy.passphrase", 42],
      ["proxy.agent", "relative/sock"], ["proxy.hostKeyFingerprint", "MD5:aa"], ["proxy.confDir", "/etc/../tmp"], ["proxy.lockFile", "/x;y"],
      ["proxy.testCommand", "nginx -t; rm -rf /"], ["proxy.reloadCommand", "nginx -s reload && curl evil"], ["proxy.pidFile", "run/nginx.pid"],
      ["proxy.httpsPort", 70000], ["proxy.httpPort", -1], ["proxy.listenAddress", "any"], ["proxy.http2", "on"], ["proxy.lockTimeoutSeconds", 0],
      ["http.hostname", "app-.example.com"], ["http.hostname", "app.example.com;"], ["http.target.host", "10.0.0.5;"], ["http.target.port", 0],
      ["http.target.protocol", "ftp"], ["http.target.trustedCertificate", "ca.pem"], ["http.tls", "yes"], ["http.websocket", "no"],
      ["http.maxBodySize", "1g; return 200"], ["http.headers", { "X-A": "a;b" }], ["http.headers", { "X-A": "a\"b" }], ["http.headers", { "X A": "v" }],
      ["http.responseHeaders", { "X-B": "a\nb" }], ["http.responseHeaders", { "X-B": "${x}" }], ["http.redirectHttp", "yes"],
      ["http.access", { basicAuth: { users: [{ name: "al ice", password: "x" }] } }], ["http.access", { authRequest: { url: "http://auth;x/check" } }],
      ["http.access", { basicAuth: { users: [{ name: "alice", password: "x" }] }, bypassPaths: ["/health z"] }],
      ["stream", { protocol: "sctp", target: { host: "10.0.0.5", port: 22 } }],
    ],
  },
  {
    type: "ProxyRoute",
    valid: { proxy: PROXY, stream: { protocol: "tcp", target: { host: "10.0.0.5", port: 22 } } },
    covers: Object.keys(StreamRouteSchema.shape).map((k) => `stream.${k}`),
    objects: ["stream", "stream.target"],
    cases: [
      ["stream.protocol", "sctp"], ["stream.listenPort", 0], ["stream.portRange.from", 0], ["stream.target.host", "a b"], ["stream.target.port", 65536],
      ["stream.ssh", { timeoutSeconds: -1 }], ["stream.ssh", { containerKind: "application", containerInitCommand: "/bin/app" }],
    ],
  },
  {
    type: "DnsRecord",
    valid: { zone: "example.com", name: "app", type: "A", values: ["192.0.2.1"], server: { kind: "powerdns", url: "https://pdns:8081", apiKey: "k" } },
    covers: [...Object.keys(DnsRecordArgs.shape), "server.kind", "server.url", "server.apiKey", "server.serverId", "server.allowPlainHttp"],
    objects: ["", "server"],
    cases: [
      ["zone", "exa mple.com"], ["name", "app-"], ["name", "a..b"], ["type", "BOGUS"], ["values", ["999.0.0.1"]], ["ttl", 0], ["overwrite", "yes"],
      ["server.kind", "bind"], ["server.url", "ftp://pdns"], ["server.url", "http://pdns:8081"], ["server.apiKey", ""], ["server.serverId", ".."],
      ["server.serverId", "localhost/../x"], ["server.allowPlainHttp", "yes"],
    ],
  },
  {
    type: "DnsRecord",
    valid: { zone: "example.com", name: "app", type: "A", values: ["192.0.2.1"], server: { kind: "rfc2136", host: "ns1.example.com", tsig: { name: "launchpad", secret: "AAAA" } } },
    covers: ["server.host", "server.port", "server.tsig.name", "server.tsig.algorithm", "server.tsig.secret"],
    objects: ["server.tsig"],
    cases: [
      ["server.host", "ns1;example"], ["server.host", ""], ["server.port", 0], ["server.tsig.name", "my key"], ["server.tsig.name", "k-"],
      ["server.tsig.algorithm", "hmac-md5"], ["server.tsig.secret", "not base64!"],
    ],
  },
  {
    type: "ContainerDeployment",
    valid: { host: "10.0.0.5", privateKey: KEY, commands: ["true"] },
    covers: Object.keys(DeploymentInputsSchema.shape),
    objects: ["", "jump"],
    cases: [
      ["host", "10.0.0.5;x"], ["port", 0], ["user", "root;id"], ["privateKey", "nope"], ["passphrase", 1], ["commands", []], ["commands", ["a\u0000b"]],
      ["revision", HUGE], ["env", { "1BAD": "x" }], ["env", { toString: "x" }], ["env", { constructor: "x" }], ["vmid", 5],
      ["jump", { host: "a b", user: "u", hostKeyFingerprint: FP }], ["jump.hostKeyFingerprint", "nope"], ["hostKeyFingerprint", "SHA256:short"],
      ["connectTimeoutSeconds", 0], ["containerKind", "vm"], ["containerKind", "application"], ["containerInitCommand", 7],
    ],
  },
  {
    type: "Permission",
    valid: { path: "/vms/100", user: "alice@pve" },
    covers: Object.keys(PermissionInputsSchema.shape),
    objects: ["", "connection"],
    cases: [
      ["path", "/vms/../access"], ["role", "Admin;x"], ["user", "alice"], ["group", "bad group"], ["propagate", "yes"], ["connection.endpoint", "http://pve"],
    ],
  },
];

describe("hostile input, field by field, through the real dynamic-provider host", function () {
  this.timeout(300_000);
  let sandbox: Sandbox;
  let host: DynamicProviderHost;
  const providers: Record<string, string> = {};

  before(async () => {
    sandbox = await startSandbox();
    // The serialized provider text of each resource, as a program produces it.
    const engine = new TestEngine({ project: "launchpad-hostile", stack: "probe" });
    try {
      const result = await engine.preview(() => {
        new LaunchpadContainer("Container", { hostname: "probe", template: TEMPLATE, sshPublicKeys: [PUBLIC_KEY] });
        new ProxyRoute("ProxyRoute", TABLES[1].valid as never);
        new DnsRecord("DnsRecord", TABLES[3].valid as never);
        new ContainerDeployment("ContainerDeployment", TABLES[5].valid as never);
        new ProxmoxPermission("Permission", TABLES[6].valid as never);
      });
      for (const r of result.resources) if (r.provider) providers[r.name] = r.provider;
    } finally {
      await engine.close();
    }
    host = await DynamicProviderHost.start({ project: "launchpad-hostile", stack: "dev" });
    await host.configure({ "launchpad:endpoint": sandbox.endpoint, "launchpad:fingerprint": sandbox.fingerprint, "launchpad:apiToken": sandbox.apiToken });
  });
  after(async () => {
    await host?.stop();
    await sandbox?.close();
  });

  const urn = (type: string) => `urn:pulumi:dev::launchpad-hostile::pulumi-nodejs:dynamic/launchpad:${type}::t`;
  const check = (type: string, news: Record<string, unknown>) => host.check(urn(type), {}, { __provider: providers[type], ...news });

  for (const table of TABLES) {
    it(`${table.type}: the table covers every input key`, () => {
      const covered = new Set(table.cases.map(([field]) => field));
      for (const key of table.covers) assert.ok([...covered].some((f) => f === key || f.startsWith(`${key}.`)) || table.valid[key] !== undefined && covered.has(key), `${table.type}: no hostile case for ${key}`);
    });

    it(`${table.type}: accepts the valid inputs`, async () => {
      assert.deepEqual((await check(table.type, table.valid)).failures, []);
    });

    it(`${table.type}: refuses each hostile value, naming its field (${table.cases.length} cases)`, async () => {
      for (const [field, value] of table.cases) {
        const { failures } = await check(table.type, withField(table.valid, field, value));
        assert.ok(failures.some((f) => f.property === field || f.property.startsWith(`${field}.`) || f.property.startsWith(`${field}[`)),
          `${table.type} ${field}=${JSON.stringify(value).slice(0, 60)}: ${JSON.stringify(failures)}`);
        for (const f of failures) assert.ok(f.reason.length > 0 && !f.reason.includes(HUGE), `${f.property}: the reason must not echo the value`);
      }
    });

    it(`${table.type}: refuses an unknown key at every level, in one wording`, async () => {
      for (const at of table.objects) {
        const field = at ? `${at}.bogusKey` : "bogusKey";
        const { failures } = await check(table.type, withField(table.valid, field, "x"));
        assert.deepEqual(failures.filter((f) => f.property === field).map((f) => f.reason), ["is not a known input"], `${table.type} ${field}: ${JSON.stringify(failures)}`);
      }
    });
  }

  it("sent nothing: no request reached the sandbox and no Create ran", () => {
    assert.equal(sandbox.requests.length, 0, JSON.stringify(sandbox.requests.slice(0, 3)));
    assert.equal(host.calls.Create, 0);
  });
});
