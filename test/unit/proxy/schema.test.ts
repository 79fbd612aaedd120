import * as assert from "assert";
import { parseRouteInputs, UNKNOWN } from "../../../provider/proxy/schema";
import { rawHttp, rawStream } from "./fixtures";

type Raw = Record<string, any>;

function problemsOf(raw: Raw) {
  const outcome = parseRouteInputs(raw);
  assert.strictEqual(outcome.ok, false, "expected check to fail");
  return (outcome as { ok: false; problems: { property: string; reason: string }[] }).problems;
}

describe("proxy route schema", () => {
  it("normalizes an HTTP route with its defaults", () => {
    const outcome = parseRouteInputs({ ...rawHttp(), __provider: "text" });
    assert.ok(outcome.ok && outcome.complete);
    const inputs = outcome.inputs as any;
    assert.strictEqual(inputs.__provider, undefined);
    assert.strictEqual(inputs.proxy.port, 22);
    assert.strictEqual(inputs.proxy.confDir, "/etc/nginx/launchpad");
    assert.strictEqual(inputs.proxy.lockFile, "/etc/nginx/launchpad/.launchpad.lock");
    assert.strictEqual(inputs.proxy.testCommand, "nginx -t");
    assert.strictEqual(inputs.proxy.reloadCommand, "nginx -s reload");
    assert.strictEqual(inputs.http.websocket, true);
    assert.strictEqual(inputs.http.maxBodySize, "1g");
    assert.strictEqual(inputs.http.target.protocol, "http");
  });

  it("lower-cases hostnames and gives stream routes the default port range", () => {
    const raw = rawHttp();
    raw.http.hostname = "Feature-X.Preview.Example.COM";
    const http = parseRouteInputs(raw);
    assert.ok(http.ok && http.complete);
    assert.strictEqual((http.inputs as any).http.hostname, "feature-x.preview.example.com");
    const stream = parseRouteInputs(rawStream());
    assert.ok(stream.ok && stream.complete);
    assert.deepStrictEqual((stream.inputs as any).stream.portRange, { from: 2000, to: 65535 });
  });

  // Each: a mutation of a valid route, and the field check must name.
  const hostile: [string, (raw: Raw) => void, string][] = [
    ["hostname with ;", (r) => { r.http.hostname = "a.example.com; include /etc/passwd"; }, "http.hostname"],
    ["hostname with {", (r) => { r.http.hostname = "a{b}.example.com"; }, "http.hostname"],
    ["hostname with newline", (r) => { r.http.hostname = "a.example.com\nlocation / {}"; }, "http.hostname"],
    ["hostname with space", (r) => { r.http.hostname = "a.example.com evil.com"; }, "http.hostname"],
    ["hostname with $", (r) => { r.http.hostname = "$host"; }, "http.hostname"],
    ["hostname with wildcard", (r) => { r.http.hostname = "*.example.com"; }, "http.hostname"],
    ["hostname with underscore", (r) => { r.http.hostname = "a_b.example.com"; }, "http.hostname"],
    ["target host with quote", (r) => { r.http.target.host = "10.0.0.5\"; return 200"; }, "http.target.host"],
    ["target port out of range", (r) => { r.http.target.port = 70000; }, "http.target.port"],
    ["target port fractional", (r) => { r.http.target.port = 80.5; }, "http.target.port"],
    ["certificate path with ..", (r) => { r.http.tls.certificate = "/etc/ssl/../../root/key.pem"; }, "http.tls.certificate"],
    ["certificate path relative", (r) => { r.http.tls.certificate = "cert.pem"; }, "http.tls.certificate"],
    ["key path with ;", (r) => { r.http.tls.key = "/etc/ssl/key.pem;"; }, "http.tls.key"],
    ["key path with space", (r) => { r.http.tls.key = "/etc/ssl/my key.pem"; }, "http.tls.key"],
    ["max body size directive", (r) => { r.http.maxBodySize = "1g; autoindex on"; }, "http.maxBodySize"],
    ["header value with $", (r) => { r.http.headers = { "X-Env": "$request_uri" }; }, "http.headers.X-Env"],
    ["header value with backslash", (r) => { r.http.headers = { "X-Env": "a\\" }; }, "http.headers.X-Env"],
    ["header value with newline", (r) => { r.http.headers = { "X-Env": "a\nb" }; }, "http.headers.X-Env"],
    ["header value with }", (r) => { r.http.responseHeaders = { "X-Robots-Tag": "noindex } server {" }; }, "http.responseHeaders.X-Robots-Tag"],
    ["header name with space", (r) => { r.http.headers = { "X Env": "a" }; }, "http.headers.X Env"],
    ["header name reserved", (r) => { r.http.headers = { host: "evil.example.com" }; }, "http.headers.host"],
    ["proxy host with space", (r) => { r.proxy.host = "proxy.example.com -oProxyCommand=x"; }, "proxy.host"],
    ["proxy user with ;", (r) => { r.proxy.user = "root;id"; }, "proxy.user"],
    ["confDir with $", (r) => { r.proxy.confDir = "/etc/nginx/$(id)"; }, "proxy.confDir"],
    ["confDir with ..", (r) => { r.proxy.confDir = "/etc/nginx/../../tmp"; }, "proxy.confDir"],
    ["lockFile with backtick", (r) => { r.proxy.lockFile = "/tmp/`id`"; }, "proxy.lockFile"],
    ["reload command with ;", (r) => { r.proxy.reloadCommand = "nginx -s reload; rm -rf /"; }, "proxy.reloadCommand"],
    ["test command with &&", (r) => { r.proxy.testCommand = "nginx -t && curl evil"; }, "proxy.testCommand"],
    ["test command with newline", (r) => { r.proxy.testCommand = "nginx -t\nid"; }, "proxy.testCommand"],
    ["fingerprint in MD5 form", (r) => { r.proxy.hostKeyFingerprint = "MD5:aa:bb"; }, "proxy.hostKeyFingerprint"],
    ["listen address not an IP", (r) => { r.proxy.listenAddress = "0.0.0.0:80 default_server"; }, "proxy.listenAddress"],
    ["agent path relative", (r) => { r.proxy.agent = "agent.sock"; }, "proxy.agent"],
    ["unknown setting", (r) => { r.http.extraConfig = "return 200;"; }, "http.extraConfig"],
  ];
  for (const [what, mutate, field] of hostile) {
    it(`rejects ${what}, naming ${field}`, () => {
      const raw = rawHttp();
      mutate(raw);
      const problems = problemsOf(raw);
      assert.ok(problems.some((p) => p.property === field), `expected ${field} in ${JSON.stringify(problems)}`);
    });
  }

  const hostileStream: [string, (raw: Raw) => void, string][] = [
    ["stream target host with {", (r) => { r.stream.target.host = "10.0.0.5 { }"; }, "stream.target.host"],
    ["stream protocol sctp", (r) => { r.stream.protocol = "sctp"; }, "stream.protocol"],
    ["listen port 0", (r) => { r.stream.listenPort = 0; }, "stream.listenPort"],
    ["inverted port range", (r) => { r.stream.portRange = { from: 3000, to: 2000 }; }, "stream.portRange"],
    ["listen port and range together", (r) => { r.stream.listenPort = 2222; r.stream.portRange = { from: 2000, to: 3000 }; }, "stream.portRange"],
  ];
  for (const [what, mutate, field] of hostileStream) {
    it(`rejects ${what}, naming ${field}`, () => {
      const raw = rawStream();
      mutate(raw);
      assert.ok(problemsOf(raw).some((p) => p.property === field));
    });
  }

  it("collects every problem at once", () => {
    const raw = rawHttp();
    raw.http.hostname = "bad host";
    raw.http.target.port = -1;
    raw.proxy.user = "a b";
    const fields = problemsOf(raw).map((p) => p.property).sort();
    assert.deepStrictEqual(fields, ["http.hostname", "http.target.port", "proxy.user"]);
  });

  it("requires exactly one of http and stream, and one of privateKey and agent", () => {
    const both = { ...rawHttp(), stream: rawStream().stream };
    assert.ok(problemsOf(both).some((p) => p.property === "http" && /Only one of `http` and `stream`/.test(p.reason)));
    assert.ok(problemsOf({ proxy: rawHttp().proxy }).some((p) => p.property === "http" && /is required/.test(p.reason)));
    const raw = rawHttp();
    raw.proxy.privateKey = "-----BEGIN OPENSSH PRIVATE KEY-----\nabc\n-----END OPENSSH PRIVATE KEY-----";
    const problems = problemsOf(raw);
    assert.ok(problems.some((p) => p.property === "proxy.agent"));
    assert.ok(!JSON.stringify(problems).includes("abc"), "problems must not echo the key");
  });

  it("skips values unknown during preview instead of rejecting them", () => {
    const raw = rawHttp();
    raw.http.target.host = UNKNOWN;
    raw.proxy.privateKey = UNKNOWN;
    const outcome = parseRouteInputs(raw);
    assert.ok(outcome.ok);
    assert.strictEqual(outcome.complete, false);
    const whole = parseRouteInputs({ proxy: rawHttp().proxy, http: UNKNOWN });
    assert.ok(whole.ok && !whole.complete);
  });

  it("still rejects a bad known value next to an unknown one", () => {
    const raw = rawHttp();
    raw.http.target.host = UNKNOWN;
    raw.http.hostname = "a;b";
    assert.deepStrictEqual(problemsOf(raw).map((p) => p.property), ["http.hostname"]);
  });

  it("an SSH stream route: waits 120 s by default, refuses UDP and an application container (naming services.ssh and the entrypoint)", () => {
    const outcome = parseRouteInputs({ ...rawStream(), stream: { ...rawStream().stream, ssh: { containerKind: "system" } } });
    assert.ok(outcome.ok && outcome.complete);
    assert.strictEqual((outcome.inputs as any).stream.ssh.timeoutSeconds, 120);
    const app = problemsOf({ ...rawStream(), stream: { ...rawStream().stream, ssh: { containerKind: "application", containerInitCommand: "nginx -g 'daemon off;'" } } });
    assert.deepStrictEqual(app.map((p) => p.property), ["stream.ssh.containerKind"]);
    assert.match(app[0].reason, /`services\.ssh`.*application container.*`nginx -g 'daemon off;'`/);
    const udp = problemsOf({ ...rawStream(), stream: { ...rawStream().stream, protocol: "udp", ssh: {} } });
    assert.deepStrictEqual(udp.map((p) => p.property), ["stream.ssh"]);
    const unknown = parseRouteInputs({ ...rawStream(), stream: { ...rawStream().stream, ssh: { containerKind: UNKNOWN } } });
    assert.ok(unknown.ok, "a kind not known yet (preview) is not judged");
  });
});
