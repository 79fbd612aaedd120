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
import { TestEngine } from "../support/engine";
import { DynamicProviderHost } from "../support/host";
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
      ["server.apiKey", "k\r\nX-Injected: 1"], ["server.apiKey", HUGE], ["server.url", "https://pdns:8081\n"], ["zone", HUGE], ["name", "a;b"],
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
