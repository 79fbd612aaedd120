// PreviewEnvironment's pure planning: which children for which arguments, fixed names, and every
// problem reported at once by field, before anything exists.
import * as assert from "assert";
import * as pulumi from "@pulumi/pulumi";
import { isLaunchpadError, ValidationError } from "../../../provider/errors";
import { PreviewEnvironmentArgs, planPreview } from "../../../src/preview";

const proxy = { host: "proxy.example.com", user: "launchpad", hostKeyFingerprint: `SHA256:${"A".repeat(43)}`, tls: "none" as const };

function problemsOf(args: PreviewEnvironmentArgs): Array<{ property: string; reason: string }> {
  try {
    planPreview(args);
  } catch (error) {
    assert.ok(isLaunchpadError(error, "ERR_VALIDATION"), `expected a ValidationError, got ${error}`);
    return (error as ValidationError).problems;
  }
  assert.fail("planPreview accepted bad arguments");
}

describe("planPreview", () => {
  it("a bare container: one child, named from owner/repo/branch", () => {
    const plan = planPreview({ branch: "feature/Login", repository: "Acme/shop", image: "nginx" });
    assert.strictEqual(plan.name, "acme-shop-feature-login");
    assert.deepStrictEqual(plan.children, ["container"]);
    assert.deepStrictEqual(plan.routes, []);
    assert.strictEqual(plan.dns, "none");
    assert.strictEqual(plan.deploy, false);
  });

  it("`name` is used as it is, made a DNS label", () => {
    assert.strictEqual(planPreview({ name: "My_Preview", template: "local:vztmpl/debian-12.tar.zst" }).name, "my-preview");
    assert.strictEqual(planPreview({ branch: "main", clone: 9000 }).name, "main");
  });

  it("every service gets a route with a fixed suffix; SSH is a TCP route to port 22", () => {
    const plan = planPreview({
      branch: "main", repository: "acme/shop", image: "nginx", domain: "preview.example.com", proxy,
      services: { http: 8080, tcp: { postgres: 5432, redis: { port: 6379, listenPort: 16379 } }, udp: { dns: 53 }, ssh: true },
    });
    assert.deepStrictEqual(plan.routes.map((r) => r.suffix), ["http", "tcp-postgres", "tcp-redis", "udp-dns", "ssh"]);
    assert.deepStrictEqual(plan.routes.find((r) => r.suffix === "ssh"), { suffix: "ssh", kind: "stream", protocol: "tcp", service: "ssh", port: 22, listenPort: undefined, sshTimeoutSeconds: undefined });
    assert.deepStrictEqual(plan.routes.find((r) => r.suffix === "tcp-redis"), { suffix: "tcp-redis", kind: "stream", protocol: "tcp", service: "redis", port: 6379, listenPort: 16379 });
    assert.deepStrictEqual(plan.children, ["container", "http", "tcp-postgres", "tcp-redis", "udp-dns", "ssh"]);
  });

  it("suffixes never depend on values that can change (ports, image, revision)", () => {
    const base = { branch: "main", domain: "d.example", proxy, services: { http: 80, tcp: { db: 5432 }, ssh: true }, deploy: { commands: ["true"], revision: "a" } };
    const one = planPreview({ ...base, image: "nginx:1" });
    const two = planPreview({ ...base, image: "nginx:2", services: { http: 8080, tcp: { db: 5433 }, ssh: true }, deploy: { commands: ["make"], revision: "b" } });
    assert.deepStrictEqual(one.children, two.children);
  });

  it("DNS, deploy (with a generated key), and the owner's permission", () => {
    const plan = planPreview({
      branch: "main", image: "nginx", domain: "d.example", proxy,
      dns: { kind: "self-hosted", server: { kind: "powerdns", url: "https://pdns:8081", apiKey: "k" } },
      deploy: { commands: ["make deploy"] }, owner: "alice@pve",
    });
    assert.deepStrictEqual(plan.children, ["deploy-key", "container", "dns", "deploy", "owner"]);
    assert.strictEqual(plan.generateKey, true);
    assert.strictEqual(plan.deployVia, "proxy", "through the proxy host when there is one");
  });

  it("a given deploy key is used; without a proxy the deploy step connects directly", () => {
    const plan = planPreview({ branch: "main", image: "nginx", deploy: { commands: ["true"], privateKey: "-----BEGIN OPENSSH PRIVATE KEY-----" } });
    assert.deepStrictEqual(plan.children, ["container", "deploy"]);
    assert.strictEqual(plan.deployVia, "direct");
  });

  it("the GitHub runner alone makes a deploy step", () => {
    const plan = planPreview({ branch: "main", image: "nginx", githubRunner: { url: "https://github.com/acme/shop", token: "t" } });
    assert.strictEqual(plan.deploy, true);
    assert.deepStrictEqual(plan.children, ["deploy-key", "container", "deploy"]);
  });

  it("Cloudflare DNS plans a `dns` child too", () => {
    const plan = planPreview({ branch: "main", image: "nginx", domain: "d.example", proxy, dns: { kind: "cloudflare", zoneId: "023e105f4ecef8ad9ca31a8372d0c353" } });
    assert.strictEqual(plan.dns, "cloudflare");
    assert.deepStrictEqual(plan.children, ["container", "dns"]);
  });

  it("rejects mutually exclusive sources with the one message shape", () => {
    assert.deepStrictEqual(problemsOf({ branch: "main", image: "nginx", template: "local:vztmpl/x.tar.zst" }), [
      { property: "template", reason: "Only one of `image`, `template` and `clone` can be given" },
    ]);
    assert.deepStrictEqual(problemsOf({ branch: "main" }), [{ property: "image", reason: "One of `image`, `template` and `clone` is required" }]);
    assert.deepStrictEqual(problemsOf({ branch: "main", name: "x", image: "nginx" }), [{ property: "branch", reason: "Only one of `branch` and `name` can be given" }]);
    assert.deepStrictEqual(problemsOf({ image: "nginx" }), [{ property: "branch", reason: "One of `branch` and `name` is required" }]);
  });

  it("collects every problem at once, each naming its field", () => {
    const problems = problemsOf({
      branch: "main", repository: "not-a-repo", image: "nginx", clone: 100,
      services: { http: 70000, tcp: { "Bad Name": 5432, ssh: 2222 }, ssh: { listenPort: 0 } },
      dns: { kind: "cloudflare", zoneId: undefined as never },
      deploy: { commands: [], via: "proxy", passphrase: "p" },
      githubRunner: { url: "http://insecure", token: undefined as never },
      owner: "alice",
      waitForIp: false,
    });
    assert.deepStrictEqual(problems.map((p) => p.property).sort(), [
      "clone", "deploy.commands", "deploy.passphrase", "deploy.via", "dns.zoneId", "domain", "domain", "githubRunner.token", "githubRunner.url",
      "owner", "proxy", "proxy", "repository", "services.http", "services.ssh.listenPort", "services.tcp.Bad Name", "services.tcp.ssh", "waitForIp", "waitForIp",
    ].sort());
    assert.ok(problems.every((p) => p.reason.length > 0));
  });

  it("requires proxy.tls with an HTTP route", () => {
    const { tls: _tls, ...noTls } = proxy;
    assert.deepStrictEqual(problemsOf({ branch: "main", image: "nginx", domain: "d.example", proxy: noTls, services: { http: 80 } }).map((p) => p.property), ["proxy.tls"]);
  });

  it("skips values that are not known yet (Outputs) instead of guessing", () => {
    const plan = planPreview({
      branch: "main", image: pulumi.output("nginx"), domain: pulumi.output("d.example"), proxy,
      services: { http: pulumi.output(70000) }, owner: pulumi.output("not-checked-yet"),
    });
    assert.deepStrictEqual(plan.children, ["container", "http", "owner"]);
  });
});

describe("planPreview checks every argument its children would refuse, before any child exists", () => {
  const pdns = { kind: "powerdns" as const, url: "https://pdns.example:8081", apiKey: "k" };
  const base = (): PreviewEnvironmentArgs => ({ branch: "main", image: "nginx", domain: "d.example", proxy, services: { http: 80, ssh: true } });
  const cases: Array<[string, (a: any) => void, string]> = [
    ["a domain label ending in '-'", (a) => { a.domain = "bad-.example"; }, "domain"],
    ["a domain of 300 characters", (a) => { a.domain = `${"a".repeat(60)}.`.repeat(5) + "com"; }, "domain"],
    ["proxy.host with a space", (a) => { a.proxy = { ...proxy, host: "proxy host" }; }, "proxy.host"],
    ["proxy.confDir with '..'", (a) => { a.proxy = { ...proxy, confDir: "/etc/nginx/../../tmp" }; }, "proxy.confDir"],
    ["proxy.testCommand with shell syntax", (a) => { a.proxy = { ...proxy, testCommand: "nginx -t; rm -rf /" }; }, "proxy.testCommand"],
    ["an unknown proxy key", (a) => { a.proxy = { ...proxy, hostKey: "x" }; }, "proxy.hostKey"],
    ["proxy.publicAddress not a host", (a) => { a.proxy = { ...proxy, publicAddress: "evil;host" }; }, "proxy.publicAddress"],
    ["proxy.tls with a relative path", (a) => { a.proxy = { ...proxy, tls: { certificate: "cert.pem", key: "/k.pem" } }; }, "proxy.tls.certificate"],
    ["proxy.portRange out of range", (a) => { a.proxy = { ...proxy, portRange: { from: 0, to: 70000 } }; }, "proxy.portRange.from"],
    ["a header value with ';'", (a) => { a.services.http = { port: 80, headers: { "X-A": "a; proxy_pass http://evil" } }; }, "services.http.headers.X-A"],
    ["a response header value with '\"'", (a) => { a.services.http = { port: 80, responseHeaders: { "X-B": "a\"b" } }; }, "services.http.responseHeaders.X-B"],
    ["dns.server.serverId walking the API path", (a) => { a.dns = { kind: "self-hosted", server: { ...pdns, serverId: "../../servers/other" } }; }, "dns.server.serverId"],
    ["dns.server plain http without the opt-in", (a) => { a.dns = { kind: "self-hosted", server: { ...pdns, url: "http://pdns:8081" } }; }, "dns.server.url"],
    ["dns.server rfc2136 host with a slash", (a) => { a.dns = { kind: "self-hosted", server: { kind: "rfc2136", host: "ns1/x", tsig: { name: "k", secret: "AAAA" } } }; }, "dns.server.host"],
    ["dns.server TSIG key name with a space", (a) => { a.dns = { kind: "self-hosted", server: { kind: "rfc2136", host: "ns1", tsig: { name: "my key", secret: "AAAA" } } }; }, "dns.server.tsig.name"],
    ["an unknown dns.server key", (a) => { a.dns = { kind: "self-hosted", server: { ...pdns, apikey: "k2" } }; }, "dns.server.apikey"],
    ["dns.zone not a DNS name", (a) => { a.dns = { kind: "self-hosted", zone: "a..b", server: pdns }; }, "dns.zone"],
    ["a Cloudflare zoneId with a path", (a) => { a.dns = { kind: "cloudflare", zoneId: "../zones/x" }; }, "dns.zoneId"],
    ["a Cloudflare ttl below 60", (a) => { a.dns = { kind: "cloudflare", zoneId: "023e105f4ecef8ad9ca31a8372d0c353", ttl: 5 }; }, "dns.ttl"],
    ["githubRunner.version walking the download URL", (a) => { a.githubRunner = { url: "https://github.com/a/b", token: "t", version: "1/../../.." }; }, "githubRunner.version"],
    ["githubRunner.arch unknown", (a) => { a.githubRunner = { url: "https://github.com/a/b", token: "t", arch: "mips" }; }, "githubRunner.arch"],
    ["githubRunner.labels with a quote", (a) => { a.githubRunner = { url: "https://github.com/a/b", token: "t", labels: ["a'b"] }; }, "githubRunner.labels[0]"],
    ["an env name starting with a digit", (a) => { a.env = { "1BAD": "x" }; }, "env.1BAD"],
    ["env `constructor`", (a) => { a.env = { constructor: "x" }; }, "env.constructor"],
    ["env `toString`", (a) => { a.env = { toString: "x" }; }, "env.toString"],
    ["env `__proto__`", (a) => { a.env = JSON.parse('{"__proto__": "x"}'); }, "env.__proto__"],
    ["deploy.env `__proto__`", (a) => { a.deploy = { commands: ["true"], env: JSON.parse('{"__proto__": "x"}') }; }, "deploy.env.__proto__"],
    ["deploy.env `toString`", (a) => { a.deploy = { commands: ["true"], env: { toString: "x" } }; }, "deploy.env.toString"],
    ["deploy.address not a host", (a) => { a.deploy = { commands: ["true"], address: "a b" }; }, "deploy.address"],
    ["deploy.user with shell syntax", (a) => { a.deploy = { commands: ["true"], user: "root;id" }; }, "deploy.user"],
    ["an unknown deploy key", (a) => { a.deploy = { commands: ["true"], command: "x" }; }, "deploy.command"],
    ["a node name of 100 characters", (a) => { a.node = "n".repeat(100); }, "node"],
    ["a pool of 100 kB", (a) => { a.pool = "p".repeat(100_000); }, "pool"],
    ["a storage id ending in '-'", (a) => { a.storage = "local-"; }, "storage"],
    ["a bridge name of 16 characters", (a) => { a.network = { bridge: "vmbr0123456789ab" }; }, "network.bridge"],
    ["an image of 100 kB", (a) => { a.image = `docker.io/library/${"a".repeat(100_000)}`; }, "image"],
    ["an unknown container key", (a) => { a.corez = 2; }, "corez"],
  ];
  for (const [what, mutate, field] of cases) {
    it(`${what}: names ${field}`, () => {
      const args = base() as any;
      mutate(args);
      const problems = problemsOf(args);
      assert.ok(problems.some((p) => p.property === field), `${field} not named in ${JSON.stringify(problems)}`);
    });
  }
  it("accepts the valid base arguments, and skips values not known yet", () => {
    assert.doesNotThrow(() => planPreview(base()));
    const unknown = pulumi.output("bad-.example");
    assert.doesNotThrow(() => planPreview({ ...base(), domain: unknown, proxy: { ...proxy, host: pulumi.output("h") } }));
  });
});
