// Every field of every resource, through the real dynamic-provider host: an unknown key and a hostile
// value each are refused in Check with a failure naming the field, and nothing is sent (the sandbox's
// request log stays empty, no Create runs). The fields come from the zod schemas (and, for the
// PreviewEnvironment component, from its Args interface): a new field without a row fails here.
import { strict as assert } from "assert";
import { containerInputsSchema } from "../../provider/container/schema";
import { PermissionInputsSchema } from "../../provider/acl/schema";
import { AcmeCertificateInputsSchema } from "../../provider/acme/schema";
import { UNKNOWN_KEY_REASON } from "../../provider/check";
import { DeploymentInputsSchema } from "../../provider/deploy/schema";
import { DnsRecordArgs, DnsServer } from "../../provider/dns/schema";
import { HttpRouteSchema, ProxyHostSchema, ProxyRouteInputsSchema } from "../../provider/proxy/schema";
import { AcmeCertificate } from "../../src/acmeCertificate";
import { ProxmoxPermission } from "../../src/acl";
import { LaunchpadContainer } from "../../src/container";
import { ContainerDeployment } from "../../src/deploy";
import { DnsRecord } from "../../src/dnsRecord";
import { ProxyRoute } from "../../src/proxyRoute";
import { PreviewEnvironment, type PreviewEnvironmentArgs } from "../../src/preview";
import { PREVIEW_KEYS } from "../../src/preview/plan";
import type { LaunchpadContainerArgs } from "../../src/container";
import type { ValidationError } from "../../provider/errors";
import { startSandbox, type Sandbox } from "../../sandbox";
import { TestEngine, proxmoxConfig } from "../../devstack/engine";
import { DynamicProviderHost } from "../../devstack/host";
import { schemaFields, uncovered, withField, type SchemaFields } from "../support/schemaFields";
import { PUBLIC_KEY, TEMPLATE } from "../unit/container/fixtures";

const KEY = "-----BEGIN OPENSSH PRIVATE KEY-----\nAAAA\n-----END OPENSSH PRIVATE KEY-----";
const FP = `SHA256:${"A".repeat(43)}`;
const HUGE = "a".repeat(100_000);
const PROXY = { host: "proxy.example.com", user: "launchpad", privateKey: KEY, hostKeyFingerprint: FP };

type Case = [field: string, value: unknown];
interface Table {
  type: string;
  valid: Record<string, unknown>;
  cases: Case[];
  /** The fields this table answers for (derived from the schema; one resource may split them over tables). */
  fields: SchemaFields;
  /** Where each object's unknown key is tried, when `valid` lacks the object (a union's object option). */
  objectBase?: Record<string, unknown>;
}

/** The fields of `schema` under (or not under) some top-level keys. */
const fieldsOf = (schema: Parameters<typeof schemaFields>[0], keep: (path: string) => boolean = () => true): SchemaFields => {
  const all = schemaFields(schema);
  return { leaves: all.leaves.filter(keep), objects: all.objects.filter(keep) };
};
const under = (...prefixes: string[]) => (path: string) => prefixes.some((p) => path === p || path.startsWith(`${p}.`) || path.startsWith(`${p}[`));

/** The RFC 2136 backend's own fields (the PowerDNS table answers for the rest of `server`). */
const RFC2136_ONLY = under("server.host", "server.port", "server.tsig");

const CONNECTION_CASES: Case[] = [
  ["connection.endpoint", "http://pve:8006"], ["connection.endpoint", "https://root:pw@pve:8006"], ["connection.endpoint", "https://pve:8006/?x=1"], ["connection.apiToken", "root"],
  ["connection.apiToken", "root@pam!t=abc\nX: y"], ["connection.username", ""], ["connection.password", ""], ["connection.fingerprint", "AB:CD"],
  ["connection.caCert", "not pem"], ["connection.insecure", "yes"],
];

const TABLES: Table[] = [
  {
    type: "Container",
    valid: { hostname: "web-1", template: TEMPLATE },
    fields: fieldsOf(containerInputsSchema),
    objectBase: { hostname: "web-1", image: "docker.io/library/nginx", imageCredentials: { username: "u", password: "p" },
      network: { ipv4: { address: "10.0.0.5/24" }, ipv6: { address: "fd00::5/64" } } },
    cases: [
      ["identity", "not-hex"], ["hostname", "web-"], ["hostname", "web;reboot"], ["image", `docker.io/library/${HUGE}`], ["template", "local:vztmpl/../x.tar"],
      ["imageCredentials", { username: "u", password: "p" }], ["imageCredentials.username", ""],
      ["clone", 5], ["node", `n${HUGE}`], ["node", "pve1;x"], ["vmid", 99], ["cores", 0], ["memory", 1], ["swap", -1], ["diskSize", 0],
      ["storage", `s${HUGE}`], ["storage", "local-"], ["templateStorage", "bad storage"], ["network.bridge", "vmbr0123456789ab"], ["network.vlan", 5000],
      ["network.ipv4", "10.0.0.1"], ["network.ipv6", "fe80::1"], ["network.firewall", "yes"], ["network.mtu", 100], ["nameserver", ["1.1.1.1;x"]],
      ["searchdomain", ["bad-"]], ["sshPublicKeys", [KEY]], ["password", "abc"], ["unprivileged", "true"], ["features.nesting", 1],
      ["env", { "1BAD": "x" }], ["env", { constructor: "x" }], ["env", { toString: "x" }], ["env", { A: "a\u0000b" }], ["entrypoint", "a\u0001b"],
      ["tags", ["bad tag"]], ["pool", `p${HUGE}`], ["pool", "a/b/c/d"], ["description", HUGE], ["onBoot", "no"], ["started", 1], ["waitForIp", "x"],
      ["timeouts.create", -1], ["timeouts.start", 0], ["timeouts.ip", "x"], ["timeouts.delete", -5], ...CONNECTION_CASES,
      ["imageCredentials.certDir", ""], ["network.ipv4.address", "10.0.0.5"], ["network.ipv4.address", "10.0.0.5/24;x"],
      ["network.ipv4", { address: "10.0.0.5/24", gateway: "10.0.1.1" }], ["network.ipv4.gateway", "10.0.0.1\nx"],
      ["network.ipv6.address", "fd00::5"], ["network.ipv6.gateway", "fd00::1;x"], ["features.keyctl", "yes"], ["features.fuse", 1],
      ["hostname", HUGE], ["env", { "A\nB": "x" }], ["password", HUGE],
    ],
  },
  {
    type: "ProxyRoute",
    valid: { proxy: PROXY, http: { hostname: "app.example.com", target: { host: "10.0.0.5", port: 3000 }, tls: "none" } },
    fields: fieldsOf(ProxyRouteInputsSchema, (path) => !under("stream")(path)),
    objectBase: { proxy: PROXY, http: { hostname: "app.example.com", target: { host: "10.0.0.5", port: 3000 }, tls: { certificate: "/c.pem", key: "/k.pem" },
      access: { basicAuth: { users: [{ name: "alice", password: "x" }] }, authRequest: { url: "https://auth.example.com/check" } } } },
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
      ["proxy.passphrase", HUGE], ["proxy.confDir", `/${HUGE}`], ["proxy.testCommand", "nginx -t\nreboot"], ["proxy.pidFile", "/run/\"nginx.pid"],
      ["http.tls.certificate", "cert.pem"], ["http.tls.key", "/etc/../k.pem"], ["http.tls", { certificate: "/c.pem" }],
      ["http.headers", { "X-A": HUGE }], ["http.headers", { "X-A": "a\u0001b" }],
      ["http.access.basicAuth.realm", "a\"b"], ["http.access.basicAuth.users", [{ name: "alice", password: "a\nb" }]],
      ["http.access.basicAuth.users", [{ name: "alice", password: HUGE }]], ["http.access.basicAuth.users", [{ name: "alice", passwordVerifier: "plain" }]],
      ["http.access.basicAuth.users", [{ name: "ali:ce", password: "x" }]],
      ["http.access.authRequest.signInUrl", "javascript:alert(1)"], ["http.access.authRequest.redirectParameter", "rd;x"],
      ["http.access.authRequest.identityHeaders", { "X A": "b" }], ["http.access.allowCidrs", ["10.0.0.0/99"]], ["http.access.bypassPaths", ["/../admin"]],
    ],
  },
  {
    type: "ProxyRoute",
    valid: { proxy: PROXY, stream: { protocol: "tcp", target: { host: "10.0.0.5", port: 22 } } },
    fields: fieldsOf(ProxyRouteInputsSchema, under("stream")),
    cases: [
      ["stream.protocol", "sctp"], ["stream.listenPort", 0], ["stream.portRange.from", 0], ["stream.portRange.to", 70000], ["stream.target.host", "a b"], ["stream.target.port", 65536],
      ["stream.ssh", { timeoutSeconds: -1 }], ["stream.ssh", { containerKind: "application", containerInitCommand: "/bin/app" }],
      ["stream.ssh.containerKind", "vm"], ["stream.ssh.containerInitCommand", "/bin/app\nforged"],
    ],
  },
  {
    type: "DnsRecord",
    valid: { zone: "example.com", name: "app", type: "A", values: ["192.0.2.1"], server: { kind: "powerdns", url: "https://pdns:8081", apiKey: "k" } },
    fields: fieldsOf(DnsRecordArgs, (path) => !RFC2136_ONLY(path)),
    cases: [
      ["zone", "exa mple.com"], ["name", "app-"], ["name", "a..b"], ["type", "BOGUS"], ["values", ["999.0.0.1"]], ["ttl", 0], ["overwrite", "yes"],
      ["server.kind", "bind"], ["server.url", "ftp://pdns"], ["server.url", "http://pdns:8081"], ["server.apiKey", ""], ["server.serverId", ".."],
      ["server.serverId", "localhost/../x"], ["server.allowPlainHttp", "yes"],
      ["server.apiKey", "k\r\nX-Injected: 1"], ["server.apiKey", HUGE], ["server.url", "https://pdns:8081\n"], ["server.url", "https://u:p@pdns:8081"], ["zone", HUGE], ["name", "a;b"],
      ["values", ["192.0.2.1;x"]], ["values", [HUGE]], ["values", []], ["ttl", 2 ** 31], ["type", "__proto__"],
    ],
  },
  {
    type: "DnsRecord",
    valid: { zone: "example.com", name: "app", type: "A", values: ["192.0.2.1"], server: { kind: "rfc2136", host: "ns1.example.com", tsig: { name: "launchpad", secret: "AAAA" } } },
    fields: fieldsOf(DnsRecordArgs, RFC2136_ONLY),
    cases: [
      ["server.host", "ns1;example"], ["server.host", ""], ["server.port", 0], ["server.tsig.name", "my key"], ["server.tsig.name", "k-"],
      ["server.tsig.algorithm", "hmac-md5"], ["server.tsig.secret", "not base64!"], ["server.tsig.secret", "A".repeat(100_000)], ["server.tsig.name", "k\n"],
    ],
  },
  {
    type: "ContainerDeployment",
    valid: { host: "10.0.0.5", privateKey: KEY, commands: ["true"] },
    fields: fieldsOf(DeploymentInputsSchema),
    cases: [
      ["host", "10.0.0.5;x"], ["port", 0], ["user", "root;id"], ["privateKey", "nope"], ["passphrase", 1], ["commands", []], ["commands", ["a\u0000b"]],
      ["revision", HUGE], ["env", { "1BAD": "x" }], ["env", { toString: "x" }], ["env", { constructor: "x" }], ["vmid", 5],
      ["jump", { host: "a b", user: "u", hostKeyFingerprint: FP }], ["jump.hostKeyFingerprint", "nope"], ["hostKeyFingerprint", "SHA256:short"],
      ["connectTimeoutSeconds", 0], ["containerKind", "vm"], ["containerKind", "application"], ["containerInitCommand", 7],
      ["containerInitCommand", "/bin/app\u001b[2J"], ["passphrase", HUGE],
      ["jump.port", 0], ["jump.privateKey", "nope"], ["jump.passphrase", 5], ["jump.agent", "rel/sock"], ["jump.user", "root;id"], ["commands", [HUGE.repeat(11)]],
    ],
  },
  {
    type: "Permission",
    valid: { path: "/vms/100", user: "alice@pve" },
    fields: fieldsOf(PermissionInputsSchema),
    cases: [
      ["path", "/vms/../access"], ["role", "Admin;x"], ["user", "alice"], ["group", "bad group"], ["propagate", "yes"], ...CONNECTION_CASES,
      ["path", `/vms/${HUGE}`], ["user", "alice@pve\n"],
    ],
  },
  {
    type: "AcmeCertificate",
    fields: fieldsOf(AcmeCertificateInputsSchema, (path) => !under("proxy")(path) || ["proxy", "proxy.host", "proxy.privateKey", "proxy.testCommand"].includes(path)),
    valid: { proxy: PROXY, hostname: "*.example.com", directoryUrl: "https://acme.example.com/dir", email: "ops@example.com",
      dns: { zone: "example.com", server: { kind: "rfc2136", host: "ns1.example.com", tsig: { name: "k", secret: "AAAA" } } } },
    cases: [
      ["proxy.host", "proxy;host"], ["proxy.privateKey", "nope"], ["proxy.testCommand", "nginx -t; id"], ["hostname", "*.*.example.com"], ["challenge", "http-01"],
      ["hostname", "app.example.com;"], ["hostname", HUGE], ["directoryUrl", "http://acme.example.com/dir"], ["directoryUrl", "not a url"],
      ["directoryCa", "no pem"], ["email", "ops@example.com\nBcc: x"], ["email", "ops"], ["challenge", "tls-alpn-01"], ["challenge", "http-01\n"],
      ["dns", { zone: "example.com", server: { kind: "bind" } }], ["dns.zone", "exa mple.com"], ["dns.ttl", 0], ["dns.server.kind", "bind"],
      ["dns.server", { kind: "powerdns", url: "ftp://x", apiKey: "k" }], ["dns.server", { kind: "powerdns", url: "https://x", apiKey: "k\nX: y" }],
      ["dns.server", { kind: "powerdns", url: "https://x", apiKey: "k", serverId: ".." }], ["dns.server", { kind: "powerdns", url: "https://x", apiKey: "k", allowPlainHttp: "yes" }],
      ["dns.server.host", "ns1;x"], ["dns.server.port", 0], ["dns.server.tsig.name", "k k"], ["dns.server.tsig.algorithm", "hmac-md5"], ["dns.server.tsig.secret", "!"],
      ["renewBeforeDays", 0], ["renewBeforeDays", 1.5], ["keyType", "dsa"], ["accountKey", "not a key"], ["accountKey", 7],
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
        new AcmeCertificate("AcmeCertificate", TABLES[7].valid as never);
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
    it(`${table.type}: the table has a hostile case for every field of the schema (${table.fields.leaves.length} fields)`, () => {
      assert.deepEqual(uncovered(table.fields.leaves, table.cases), [], `${table.type}: fields without a hostile case`);
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

    it(`${table.type}: refuses an unknown key in each of its ${table.fields.objects.length} objects, in one wording`, async () => {
      for (const at of table.fields.objects) {
        const field = at ? `${at}.bogusKey` : "bogusKey";
        const { failures } = await check(table.type, withField(table.objectBase ?? table.valid, field, "x"));
        assert.deepEqual(failures.filter((f) => f.property === field).map((f) => f.reason), [UNKNOWN_KEY_REASON], `${table.type} ${field}: ${JSON.stringify(failures)}`);
      }
    });
  }

  it("sent nothing: no request reached the sandbox and no Create ran", () => {
    assert.equal(sandbox.requests.length, 0, JSON.stringify(sandbox.requests.slice(0, 3)));
    assert.equal(host.calls.Create, 0);
  });
});

// --- PreviewEnvironment: a component, so its arguments are checked in the program (its plan),
// before any child exists. Its own fields come from PreviewEnvironmentArgs (a new one without an
// entry fails `tsc`), the container's from LaunchpadContainer's schema, each nested one from the
// schema of the child that uses it.
const prefixed = (prefix: string, fields: SchemaFields) => fields.leaves.map((l) => `${prefix}.${l}`);
const objectsUnder = (prefix: string, fields: SchemaFields) => fields.objects.map((o) => (o ? `${prefix}.${o}` : prefix));
const HTTP_SERVICE = HttpRouteSchema.pick({ websocket: true, maxBodySize: true, headers: true, responseHeaders: true, redirectHttp: true, access: true });
const ACME_OWN = AcmeCertificateInputsSchema.omit({ proxy: true, hostname: true });
/** Every field of the component's own arguments, by argument. */
const PREVIEW_OWN: Record<Exclude<keyof PreviewEnvironmentArgs, keyof LaunchpadContainerArgs> | "hostname", { leaves: string[]; objects: string[] }> = {
  branch: { leaves: ["branch"], objects: [] },
  name: { leaves: ["name"], objects: [] },
  repository: { leaves: ["repository"], objects: [] },
  domain: { leaves: ["domain"], objects: [] },
  hostname: { leaves: ["hostname"], objects: [] },
  owner: { leaves: ["owner"], objects: [] },
  ttl: { leaves: ["ttl"], objects: [] },
  services: {
    leaves: ["services.http.port", ...prefixed("services.http", schemaFields(HTTP_SERVICE)), "services.tcp.db", "services.tcp.db.listenPort", "services.udp.dns.port",
      "services.udp.dns.listenPort", "services.ssh", "services.ssh.listenPort", "services.ssh.timeoutSeconds"],
    objects: ["services", ...objectsUnder("services.http", schemaFields(HTTP_SERVICE)), "services.tcp.db", "services.udp.dns", "services.ssh"],
  },
  proxy: {
    leaves: [...prefixed("proxy", schemaFields(ProxyHostSchema)), "proxy.publicAddress", "proxy.tls", "proxy.tls.certificate", "proxy.tls.key",
      ...prefixed("proxy.acme", schemaFields(ACME_OWN)), "proxy.portRange.from", "proxy.portRange.to"],
    objects: ["proxy", "proxy.tls", "proxy.portRange", ...objectsUnder("proxy.acme", schemaFields(ACME_OWN))],
  },
  dns: {
    leaves: ["dns.kind", "dns.zone", "dns.ttl", "dns.overwrite", ...prefixed("dns.server", schemaFields(DnsServer)), "dns.zoneId", "dns.proxied", "dns.provider"],
    objects: ["dns", ...objectsUnder("dns.server", schemaFields(DnsServer))],
  },
  deploy: {
    leaves: ["commands", "revision", "env", "privateKey", "passphrase", "user", "via", "address", "port", "hostKeyFingerprint", "connectTimeoutSeconds"].map((k) => `deploy.${k}`),
    objects: ["deploy"],
  },
  githubRunner: { leaves: ["url", "token", "labels", "version", "arch"].map((k) => `githubRunner.${k}`), objects: ["githubRunner"] },
};

const SELF_HOSTED = { kind: "self-hosted", server: { kind: "powerdns", url: "https://pdns.example.com:8081", apiKey: "k" } };
const PREVIEW_VALID: Record<string, unknown> = {
  name: "pv", template: TEMPLATE, domain: "preview.example.com", owner: "alice@pve", ttl: "7d",
  services: { http: { port: 3000, access: { basicAuth: { users: [{ name: "alice", password: "pw" }] } } }, tcp: { db: 5432 }, udp: { dns: { port: 53 } }, ssh: { timeoutSeconds: 5 } },
  proxy: { ...PROXY, tls: "none", publicAddress: "203.0.113.1", portRange: { from: 30000, to: 31000 } },
  dns: SELF_HOSTED,
  deploy: { commands: ["true"], privateKey: KEY, revision: "r1", env: { A: "a" } },
  githubRunner: { url: "https://github.com/acme/shop", token: "AABBCC", labels: ["x"], version: "2.333.1", arch: "x64" },
};
/** The other shapes some fields only have there: Cloudflare DNS, a certificate of its own. */
const PREVIEW_CLOUDFLARE = { ...PREVIEW_VALID, dns: { kind: "cloudflare", zoneId: "0".repeat(32), proxied: false, ttl: 300 } };
const PREVIEW_ACME = { ...PREVIEW_VALID, proxy: { ...PREVIEW_VALID.proxy as object, tls: "acme", acme: { directoryUrl: "https://acme.example.com/dir", email: "ops@example.com" } } };

const PREVIEW_ACME_DNS = { ...PREVIEW_ACME, proxy: { ...PREVIEW_ACME.proxy, acme: { ...(PREVIEW_ACME.proxy.acme as object), challenge: "dns-01",
  dns: { zone: "preview.example.com", server: { kind: "rfc2136", host: "ns1.example.com", tsig: { name: "k", secret: "AAAA" } } } } } };

const PREVIEW_RFC2136 = { ...PREVIEW_VALID, dns: { kind: "self-hosted", server: { kind: "rfc2136", host: "ns1.example.com", tsig: { name: "k", secret: "AAAA" } } } };

type PreviewCase = [field: string, value: unknown, base?: Record<string, unknown>];
const PREVIEW_CASES: PreviewCase[] = [
  ["branch", "feature/x"], ["name", 7], ["repository", "acme/shop;x"], ["domain", "preview.example.com;"], ["domain", HUGE], ["hostname", "pv-"],
  ["owner", "alice"], ["owner", "alice@pve\nroot@pam"], ["ttl", "forever"],
  ["services.http.port", 0], ["services.http.websocket", "yes"], ["services.http.maxBodySize", "1g; return 200"], ["services.http.headers", { "X-A": "a;b" }],
  ["services.http.responseHeaders", { "X-A": "a\nb" }], ["services.http.redirectHttp", 1],
  ["services.http.access", { basicAuth: { realm: "a\"b", users: [{ name: "al ice", password: "a\nb", passwordVerifier: "plain" }] } }],
  ["services.http.access", { authRequest: { url: "http://auth;x/check", signInUrl: "javascript:x", redirectParameter: "rd;", identityHeaders: { "X A": "b" } }, bypassPaths: ["/a b"], allowCidrs: ["10.0.0.0/99"] }],
  ["services.tcp.db", 70000], ["services.tcp.db", { port: 5432, listenPort: 0 }], ["services.udp.dns.port", -1], ["services.udp.dns", { port: 53, listenPort: 65536 }], ["services.udp", { "Bad Name": 53 }],
  ["services.ssh", { listenPort: 0 }], ["services.ssh.timeoutSeconds", 99999],
  ["proxy.host", "proxy;host"], ["proxy.port", 0], ["proxy.user", "root;id"], ["proxy.privateKey", "nope"], ["proxy.passphrase", HUGE], ["proxy.agent", "rel"],
  ["proxy.hostKeyFingerprint", "MD5:x"], ["proxy.confDir", "/etc/../tmp"], ["proxy.lockFile", "x"], ["proxy.testCommand", "nginx -t; id"],
  ["proxy.reloadCommand", "nginx -s reload\nid"], ["proxy.pidFile", "pid"], ["proxy.httpsPort", 0], ["proxy.httpPort", 70000], ["proxy.listenAddress", "any"],
  ["proxy.http2", "on"], ["proxy.lockTimeoutSeconds", 0], ["proxy.publicAddress", "203.0.113.1;x"], ["proxy.publicAddress", HUGE], ["proxy.tls", "yes"],
  ["proxy.tls", { certificate: "cert.pem", key: "/etc/../k" }], ["proxy.portRange.from", 0], ["proxy.portRange.to", 70000],
  ["proxy.acme.directoryUrl", "http://acme.example.com", PREVIEW_ACME], ["proxy.acme.directoryCa", "no pem", PREVIEW_ACME], ["proxy.acme.email", "x\ny", PREVIEW_ACME],
  ["proxy.acme.challenge", "tls-alpn-01", PREVIEW_ACME], ["proxy.acme.renewBeforeDays", 0, PREVIEW_ACME], ["proxy.acme.keyType", "dsa", PREVIEW_ACME],
  ["proxy.acme.accountKey", "nope", PREVIEW_ACME],
  ["proxy.acme.dns", { zone: "a b", ttl: 0, server: { kind: "rfc2136", host: "h;x", port: 0, tsig: { name: "k k", algorithm: "md5", secret: "!" } } }, PREVIEW_ACME],
  ["proxy.acme.dns", { zone: "preview.example.com", server: { kind: "powerdns", url: "ftp://x", apiKey: "k\nX: y", serverId: "..", allowPlainHttp: "yes" } }, PREVIEW_ACME],
  ["dns.kind", "bind"], ["dns.zone", "a b"], ["dns.ttl", 0], ["dns.overwrite", "yes"], ["dns.server.kind", "bind"], ["dns.server.url", "ftp://pdns"],
  ["dns.server.apiKey", "k\r\nX: y"], ["dns.server.serverId", "localhost/../x"], ["dns.server.allowPlainHttp", "yes"],
  ["dns.server", { kind: "rfc2136", host: "ns1;x", port: 0, tsig: { name: "k k", algorithm: "hmac-md5", secret: "!" } }],
  ["dns.zoneId", "../zones", PREVIEW_CLOUDFLARE], ["dns.proxied", "yes", PREVIEW_CLOUDFLARE], ["dns.ttl", 30, PREVIEW_CLOUDFLARE], ["dns.provider", "cloudflare", PREVIEW_CLOUDFLARE],
  ["deploy.commands", []], ["deploy.commands", ["a\u0000b"]], ["deploy.revision", HUGE], ["deploy.env", { "1BAD": "x" }], ["deploy.env", { toString: "x" }],
  ["deploy.privateKey", "nope"], ["deploy.passphrase", HUGE], ["deploy.user", "root;id"], ["deploy.via", "tunnel"], ["deploy.address", "10.0.0.5;x"],
  ["deploy.port", 0], ["deploy.hostKeyFingerprint", "SHA256:short"], ["deploy.connectTimeoutSeconds", 0],
  ["githubRunner.url", "http://github.com/acme/shop"], ["githubRunner.url", "https://github.com/a b"], ["githubRunner.token", "t\nx"], ["githubRunner.token", HUGE],
  ["githubRunner.labels", ["a b"]], ["githubRunner.version", "1/../../.."], ["githubRunner.arch", "ppc"],
];
/** The container's fields, given to the component: the Container table's cases, where they fit a preview. */
const CONTAINER_CASES_FOR_PREVIEW = (TABLES[0].cases as PreviewCase[]).filter(([field]) => !["hostname", "identity", "template", "image", "imageCredentials", "clone", "started", "waitForIp"].some((k) => field === k || field.startsWith(`${k}.`)));

describe("hostile input to PreviewEnvironment, field by field, through the engine", function () {
  this.timeout(300_000);
  let sandbox: Sandbox;
  let engine: TestEngine;
  const failures = new Map<number, ValidationError | Error | undefined>();
  const cases: PreviewCase[] = [...PREVIEW_CASES, ...CONTAINER_CASES_FOR_PREVIEW.map(([f, v]) => [f, v] as PreviewCase)];
  const objects = [...Object.values(PREVIEW_OWN).flatMap((o) => o.objects), ...schemaFields(containerInputsSchema).objects.filter((o) => o && !o.startsWith("imageCredentials"))];
  const objectCases: PreviewCase[] = objects.map((o) => [`${o}.bogusKey`, "x", o.startsWith("proxy.acme.dns") ? PREVIEW_ACME_DNS : o.startsWith("dns.server.tsig") ? PREVIEW_RFC2136 : o.startsWith("proxy.acme") ? PREVIEW_ACME : undefined]);
  let validError: unknown;
  let sandboxRequests = -1;
  let result: Awaited<ReturnType<TestEngine["preview"]>> | undefined;

  before(async () => {
    sandbox = await startSandbox();
    engine = new TestEngine({
      project: "launchpad-hostile", stack: "preview",
      ...proxmoxConfig(sandbox),
    });
    // One program builds every case (each its own component, each refused in its plan) and the
    // valid arguments once in a plan of their own; a `preview` runs it through the real host.
    const { planPreview } = await import("../../src/preview/plan");
    result = await engine.preview(() => {
      try { planPreview(PREVIEW_VALID as never); planPreview(PREVIEW_CLOUDFLARE as never); planPreview(PREVIEW_ACME as never); planPreview(PREVIEW_ACME_DNS as never); planPreview(PREVIEW_RFC2136 as never); } catch (error) { validError = error; }
      [...cases, ...objectCases].forEach(([field, value, base], i) => {
        try {
          new PreviewEnvironment(`case-${i}`, withField(base ?? PREVIEW_VALID, field, value) as never);
          failures.set(i, undefined);
        } catch (error) {
          failures.set(i, error as Error);
        }
      });
    });
    sandboxRequests = sandbox.requests.length;
  });
  after(async () => {
    await engine?.close();
    await sandbox?.close();
  });

  it("its own keys are the plan's, and each of them has its fields listed", () => {
    assert.deepEqual(Object.keys(PREVIEW_OWN).sort(), [...PREVIEW_KEYS].sort());
  });

  it("has a hostile case for every field (its own, each child's, and the container's)", () => {
    const leaves = [...Object.values(PREVIEW_OWN).flatMap((o) => o.leaves), ...schemaFields(containerInputsSchema).leaves.filter((l) => !["hostname", "identity", "image", "template", "clone", "started", "waitForIp"].includes(l) && !l.startsWith("imageCredentials"))];
    assert.deepEqual(uncovered(leaves, cases), []);
  });

  it("accepts the valid arguments (self-hosted DNS, Cloudflare, a certificate of its own)", () => {
    assert.equal(validError, undefined, String(validError));
  });

  it("refuses each hostile value in the program, naming its field", () => {
    cases.forEach(([field, value], i) => {
      const error = failures.get(i) as ValidationError | undefined;
      assert.ok(error && Array.isArray(error.problems), `${field}=${JSON.stringify(value)?.slice(0, 60)}: not refused (${error})`);
      assert.ok(error.problems.some((p) => p.property === field || p.property.startsWith(`${field}.`) || p.property.startsWith(`${field}[`)),
        `${field}=${JSON.stringify(value)?.slice(0, 60)}: ${JSON.stringify(error.problems).slice(0, 400)}`);
      for (const p of error.problems) assert.ok(!p.reason.includes(HUGE), `${p.property}: the reason must not echo the value`);
    });
  });

  it("refuses an unknown key in each of its objects, in one wording", () => {
    objectCases.forEach(([field], i) => {
      const error = failures.get(cases.length + i) as ValidationError | undefined;
      const reasons = (error?.problems ?? []).filter((p) => p.property === field).map((p) => p.reason);
      assert.deepEqual(reasons, [UNKNOWN_KEY_REASON], `${field}: ${JSON.stringify(error?.problems ?? String(error))}`);
    });
  });

  it("refuses an own __proto__ env key in the program (Pulumi's serialization would drop it silently)", () => {
    const env = JSON.parse('{"A":"x","__proto__":"y"}');
    assert.throws(() => new LaunchpadContainer("proto", { hostname: "p", template: TEMPLATE, env }), /env\.__proto__/);
    assert.throws(() => new ContainerDeployment("proto", { host: "10.0.0.5", privateKey: KEY, commands: ["true"], env }), /env\.__proto__/);
  });

  it("created nothing: no child registered, no request reached the sandbox", () => {
    const children = (result?.resources ?? []).filter((r) => r.custom);
    assert.deepEqual(children.map((r) => r.name), []);
    assert.equal(sandboxRequests, 0, JSON.stringify(sandbox.requests.slice(0, 3)));
  });
});
