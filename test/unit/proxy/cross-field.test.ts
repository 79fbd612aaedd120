// ProxyRoute's cross-field rules one at a time: the exact problem each gives (field and message, read by
// the person who must fix the input) and that no other field is blamed; values unknown during a preview;
// and how stored state is read back.
import * as assert from "assert";
import { parseRouteInputs, UNKNOWN } from "../../../provider/proxy";
import { parseStoredRoute } from "../../../provider/proxy/schema";
import { rawHttp, rawProxy, rawStream } from "./fixtures";

const KEY = "-----BEGIN OPENSSH PRIVATE KEY-----\nAAAA\n-----END OPENSSH PRIVATE KEY-----\n";

function problems(raw: Record<string, any>, stored = false): { property: string; reason: string }[] {
  const outcome = parseRouteInputs(raw, { stored });
  assert.strictEqual(outcome.ok, false, "expected problems");
  return (outcome as { problems: { property: string; reason: string }[] }).problems;
}
const withHttp = (http: Record<string, unknown>) => ({ ...rawHttp(), http: { ...rawHttp().http, ...http } });
const withStream = (stream: Record<string, unknown>) => ({ ...rawStream(), stream: { ...rawStream().stream, ...stream } });
const users = (list: Record<string, unknown>[]) => withHttp({ access: { basicAuth: { users: list } } });

describe("ProxyRoute cross-field rules", () => {
  it("says which of http and stream is wrong", () => {
    assert.deepStrictEqual(problems({ ...rawHttp(), stream: rawStream().stream }), [{ property: "http", reason: "Only one of `http` and `stream` can be given" }]);
    assert.deepStrictEqual(problems({ proxy: rawProxy() }), [{ property: "http", reason: "One of `http` and `stream` is required" }]);
    assert.ok(problems({ proxy: rawProxy(), http: null, stream: null }).some((p) => p.property === "http" && p.reason === "One of `http` and `stream` is required"), "null is none");
    assert.ok(parseRouteInputs({ ...rawHttp(), stream: UNKNOWN }).ok, "an unknown stream beside http is no conflict yet");
    assert.ok(!problems({ ...rawHttp(), stream: null }).some((p) => p.reason.startsWith("Only one of `http`")), "null is none");
  });

  it("takes a proxy key or an agent, not both", () => {
    assert.deepStrictEqual(problems({ ...rawHttp(), proxy: { ...rawProxy(), privateKey: KEY } }),
      [{ property: "proxy.agent", reason: "Only one of `proxy.privateKey` and `proxy.agent` can be given" }]);
    assert.ok(parseRouteInputs({ ...rawHttp(), proxy: { ...rawProxy(), privateKey: UNKNOWN } }).ok);
    assert.ok(parseRouteInputs({ ...rawHttp(), proxy: { ...rawProxy(), agent: null, privateKey: KEY } }).ok === false, "null is not a valid agent");
    assert.ok(!problems({ ...rawHttp(), proxy: { ...rawProxy(), agent: null, privateKey: KEY } }).some((p) => p.property === "proxy.agent" && p.reason.startsWith("Only one")));
  });

  it("takes a listen port or a port range, not both, and a range that runs upwards", () => {
    assert.deepStrictEqual(problems(withStream({ listenPort: 2222, portRange: { from: 3000, to: 3100 } })),
      [{ property: "stream.portRange", reason: "Only one of `stream.listenPort` and `stream.portRange` can be given" }]);
    assert.deepStrictEqual(problems(withStream({ portRange: { from: 3100, to: 3000 } })), [{ property: "stream.portRange", reason: "`from` must not be greater than `to`" }]);
    assert.ok(parseRouteInputs(withStream({ portRange: { from: 3000, to: 3000 } })).ok, "one port is a range");
    assert.ok(parseRouteInputs(withStream({ listenPort: UNKNOWN, portRange: { from: 3000, to: 3100 } })).ok);
  });

  it("refuses SSH over UDP, and SSH to an application container naming its entrypoint", () => {
    assert.deepStrictEqual(problems(withStream({ protocol: "udp", ssh: {} })), [{ property: "stream.ssh", reason: "SSH runs over TCP: give `protocol: \"tcp\"`" }]);
    const [kind] = problems(withStream({ ssh: { containerKind: "application", containerInitCommand: "node app.js" } }));
    assert.strictEqual(kind.property, "stream.ssh.containerKind");
    assert.match(kind.reason, /the container is an application container: its image's entrypoint `node app\.js` runs instead of/);
    assert.match(kind.reason, /and drop `services\.ssh`\.$/);
    const wrongType = problems(withStream({ ssh: { containerKind: "application", containerInitCommand: 7 } }));
    assert.match(wrongType.find((p) => p.property === "stream.ssh.containerKind")!.reason, /entrypoint `\?`/);
    assert.ok(parseRouteInputs(withStream({ ssh: { containerKind: "system" } })).ok);
  });

  it("refuses a header the route sets itself, in either header group, whatever its case", () => {
    assert.deepStrictEqual(problems(withHttp({ headers: { "X-Forwarded-For": "1.2.3.4", "X-Ok": "1" } })),
      [{ property: "http.headers.X-Forwarded-For", reason: "is set by the route itself and cannot be overridden" }]);
    assert.deepStrictEqual(problems(withHttp({ responseHeaders: { Connection: "close" } })),
      [{ property: "http.responseHeaders.Connection", reason: "is set by the route itself and cannot be overridden" }]);
    assert.ok(parseRouteInputs(withHttp({ headers: { "X-Real": "1" } })).ok);
  });

  it("says how access is wrong: both kinds, neither, a user twice, a password missing or a verifier given", () => {
    const authRequest = { url: "https://auth.example.com/oauth2/auth" };
    assert.deepStrictEqual(problems(withHttp({ access: { basicAuth: { users: [{ name: "a", password: "p" }] }, authRequest } })),
      [{ property: "http.access.authRequest", reason: "Only one of `basicAuth` and `authRequest` can be given" }]);
    assert.deepStrictEqual(problems(withHttp({ access: { bypassPaths: ["/health"] } })), [{ property: "http.access", reason: "One of `basicAuth` and `authRequest` is required" }]);
    assert.deepStrictEqual(problems(users([{ name: "a", password: "p" }, { name: "a", password: "q" }])),
      [{ property: "http.access.basicAuth.users[1].name", reason: "a is listed twice" }]);
    assert.deepStrictEqual(problems(users([{ name: "a", password: "p" }, { name: "b" }])),
      [{ property: "http.access.basicAuth.users[1].password", reason: "is required (pass it as a secret)" }]);
    assert.deepStrictEqual(problems(users([{ name: "a", password: "p", passwordVerifier: "scrypt$abc$def" }])),
      [{ property: "http.access.basicAuth.users[0].passwordVerifier", reason: "is set by the provider, not an input" }]);
  });

  it("reads stored state, where verifiers stand in for passwords, without those two complaints", () => {
    const stored = users([{ name: "a", passwordVerifier: "scrypt$abc$def" }]);
    assert.ok(parseRouteInputs(stored, { stored: true }).ok);
    assert.deepStrictEqual(problems(users([{ name: "a", passwordVerifier: "scrypt$abc$def" }, { name: "a", passwordVerifier: "scrypt$abc$def" }]), true).map((p) => p.property),
      ["http.access.basicAuth.users[1].name"], "a user twice is still wrong");
  });

  it("refuses a bypass path twice or one the route serves itself, and an identity header the route sets", () => {
    const basicAuth = { users: [{ name: "a", password: "p" }] };
    assert.deepStrictEqual(problems(withHttp({ access: { basicAuth, bypassPaths: ["/health", "/health"] } })),
      [{ property: "http.access.bypassPaths[1]", reason: "/health is listed twice" }]);
    for (const path of ["/_launchpad/x", "/.well-known/acme-challenge/t"]) {
      assert.deepStrictEqual(problems(withHttp({ access: { basicAuth, bypassPaths: [path] } })), [{ property: "http.access.bypassPaths[0]", reason: "is a path the route serves itself" }]);
    }
    assert.ok(parseRouteInputs(withHttp({ access: { basicAuth, bypassPaths: ["/health", "/_launchpadx"] } })).ok);
    assert.deepStrictEqual(problems(withHttp({ access: { authRequest: { url: "https://auth.example.com/a", identityHeaders: { Host: "X-User" } } } })),
      [{ property: "http.access.authRequest.identityHeaders.Host", reason: "is set by the route itself and cannot be overridden" }]);
  });

  it("normalizes the known parts while a value is unknown, and derives the lock file and port range", () => {
    const preview = parseRouteInputs({ ...rawStream(), stream: { ...rawStream().stream, target: { host: UNKNOWN, port: 22 } } });
    assert.ok(preview.ok && !preview.complete);
    assert.deepStrictEqual((preview.inputs as any).proxy.lockFile, "/etc/nginx/launchpad/.launchpad.lock");
    assert.strictEqual((preview.inputs as any).proxy.port, 22, "the known proxy got its defaults");
    assert.deepStrictEqual((preview.inputs as any).stream.portRange, { from: 2000, to: 65535 });
    assert.strictEqual((preview.inputs as any).stream.target.host, UNKNOWN);
    const unknownConfDir = parseRouteInputs({ ...rawHttp(), proxy: { ...rawProxy(), confDir: UNKNOWN } });
    assert.ok(unknownConfDir.ok && !unknownConfDir.complete);
    assert.strictEqual((unknownConfDir.inputs as any).proxy.lockFile, undefined, "no lock file under an unknown directory");
    const fixed = parseRouteInputs(withStream({ listenPort: 2222 }));
    assert.ok(fixed.ok && fixed.complete);
    assert.strictEqual(fixed.inputs.stream!.portRange, undefined);
    const given = parseRouteInputs({ ...rawHttp(), proxy: { ...rawProxy(), lockFile: "/run/x.lock" } });
    assert.ok(given.ok && given.complete);
    assert.strictEqual(given.inputs.proxy.lockFile, "/run/x.lock");
  });

  it("reads stored routes leniently, keeping what apply learned", () => {
    const checked = parseRouteInputs(rawStream());
    assert.ok(checked.ok && checked.complete);
    const stored = parseStoredRoute({ ...checked.inputs, __provider: "x", schemaVersion: 1, port: 2001, url: "https://x", configPath: "/p", configSha256: "h", htpasswdSha256: "s" });
    assert.deepStrictEqual({ port: stored.port, url: stored.url, configPath: stored.configPath, configSha256: stored.configSha256, htpasswdSha256: stored.htpasswdSha256, schemaVersion: stored.schemaVersion },
      { port: 2001, url: "https://x", configPath: "/p", configSha256: "h", htpasswdSha256: "s", schemaVersion: 1 });
    assert.strictEqual((stored as any).__provider, undefined);
    const old = parseStoredRoute({ ...checked.inputs, port: "2001", url: 5 });
    assert.deepStrictEqual([old.port, old.url, old.configPath, old.configSha256, old.schemaVersion, "htpasswdSha256" in old], [undefined, undefined, "", "", 1, false]);
    const broken = { proxy: { host: "x" }, configPath: "/p" };
    assert.deepStrictEqual(parseStoredRoute(broken), broken, "state it cannot parse is handed back as it is");
  });
});

describe("ProxyRoute check on odd values", () => {
  it("returns problems, never throws, for null or wrongly typed parts", () => {
    const odd: Record<string, any>[] = [
      { ...rawHttp(), proxy: null },
      withStream({ ssh: null }),
      withHttp({ headers: null }),
      withHttp({ access: null }),
      withHttp({ access: { basicAuth: null, authRequest: { url: "https://a.example.com/auth", identityHeaders: null } } }),
      withHttp({ access: { authRequest: null, basicAuth: { users: [null, { name: "a", password: "p" }] } } }),
      withHttp({ access: { basicAuth: { users: [{ name: "a", password: "p" }] }, bypassPaths: [5, "/health"] } }),
    ];
    for (const raw of odd) {
      let outcome: ReturnType<typeof parseRouteInputs> | undefined;
      assert.doesNotThrow(() => { outcome = parseRouteInputs(raw); }, JSON.stringify(raw));
      assert.strictEqual(outcome!.ok, false, JSON.stringify(raw));
    }
    const basic = problems(withHttp({ access: { basicAuth: null, authRequest: { url: "https://a.example.com/auth" } } }));
    assert.ok(!basic.some((p) => p.reason.startsWith("Only one of `basicAuth`")), "a null basicAuth is none");
  });

  it("compares a range and names only when they have the right types", () => {
    const range = problems(withStream({ portRange: { from: "3100", to: 3000 } }));
    assert.deepStrictEqual(range.map((p) => p.property), ["stream.portRange.from"]);
    const names = problems(users([{ name: 5, password: "p" }, { name: 5, password: "p" }]));
    assert.ok(!names.some((p) => / is listed twice$/.test(p.reason)), JSON.stringify(names));
  });

  it("names a bad header name as such", () => {
    assert.deepStrictEqual(problems(withHttp({ headers: { "bad name": "x" } })), [{ property: "http.headers.bad name", reason: "is not a valid header name (letters, digits and '-')" }]);
  });

  it("takes a CIDR without bits as one address, and a fingerprint with its padding", () => {
    const cidr = parseRouteInputs(withHttp({ access: { basicAuth: { users: [{ name: "a", password: "p" }] }, allowCidrs: ["10.0.0.1", "10.0.0.0/8"] } }));
    assert.ok(cidr.ok && cidr.complete, JSON.stringify(cidr));
    for (const padding of ["=", "=="]) {
      const padded = parseRouteInputs({ ...rawHttp(), proxy: { ...rawProxy(), hostKeyFingerprint: rawProxy().hostKeyFingerprint + padding } });
      assert.ok(padded.ok && padded.complete);
      assert.strictEqual(padded.inputs.proxy.hostKeyFingerprint, rawProxy().hostKeyFingerprint);
    }
  });

  it("treats a route with an unknown value in a list as incomplete, and skips a rule on a header whose value is unknown", () => {
    const list = parseRouteInputs(withHttp({ access: { basicAuth: { users: [{ name: "a", password: "p" }] }, allowCidrs: [UNKNOWN] } }));
    assert.ok(list.ok && !list.complete);
    assert.ok(parseRouteInputs(withHttp({ headers: { Host: UNKNOWN } })).ok);
  });

  it("fills the defaults inside optional parts while another value in them is unknown, and leaves absent keys out", () => {
    const preview = parseRouteInputs(withHttp({ target: { host: UNKNOWN, port: 3000 } }));
    assert.ok(preview.ok && !preview.complete);
    const http = (preview.inputs as any).http;
    assert.deepStrictEqual([http.websocket, http.maxBodySize, http.redirectHttp, http.target.protocol], [true, "1g", true, "http"]);
    assert.ok(!("privateKey" in (preview.inputs as any).proxy), "no key with an undefined value");
    assert.ok(!("access" in http));
  });

  it("reads stored HTTP routes of older versions with today's defaults, verifiers in place of passwords", () => {
    const checked = parseRouteInputs(withHttp({ access: { basicAuth: { users: [{ name: "a", password: "p" }] } } }));
    assert.ok(checked.ok && checked.complete);
    const { websocket: _w, ...olderHttp } = checked.inputs.http!;
    const users = [{ name: "a", passwordVerifier: "scrypt$abc$def" }];
    const stored = parseStoredRoute({ ...checked.inputs, http: { ...olderHttp, access: { ...olderHttp.access, basicAuth: { realm: "R", users } } }, configPath: "/p", configSha256: "h", url: "https://x" });
    assert.strictEqual(stored.http!.websocket, true, "parsed: today's default filled in");
    assert.deepStrictEqual(stored.http!.access!.basicAuth!.users, users);
  });
});
