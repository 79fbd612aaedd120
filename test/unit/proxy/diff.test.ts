import * as assert from "assert";
import { diffRoute, ROUTE_DIFF_TABLE } from "../../../provider/proxy/diff";
import { renderRoute, sha256 } from "../../../provider/proxy/render";
import { parseRouteInputs, UNKNOWN, type ProxyRouteInputs, type ProxyRouteOutputs } from "../../../provider/proxy/schema";
import { rawHttp, rawStream } from "./fixtures";

function inputsOf(raw: Record<string, any>): ProxyRouteInputs {
  const outcome = parseRouteInputs(raw);
  if (!outcome.ok || !outcome.complete) throw new Error("fixture invalid");
  return outcome.inputs;
}

/** Stored outputs as create would leave them. */
function stored(raw: Record<string, any>, port?: number): ProxyRouteOutputs {
  const inputs = inputsOf(raw);
  const { path, content } = renderRoute(inputs, port);
  return { ...inputs, schemaVersion: 1, port, configPath: path, configSha256: sha256(content) };
}

function diff(olds: ProxyRouteOutputs, newsRaw: Record<string, any>) {
  const outcome = parseRouteInputs(newsRaw);
  assert.ok(outcome.ok);
  return diffRoute(olds, outcome.inputs as Record<string, unknown>, outcome.complete);
}

describe("proxy route diff", () => {
  it("reports no change for the same inputs and file", () => {
    assert.deepStrictEqual(diff(stored(rawHttp()), rawHttp()), { changes: false, replaces: [], deleteBeforeReplace: false });
  });

  it("updates in place when the target, TLS files, headers or credentials change", () => {
    const mutations: ((r: any) => void)[] = [
      (r) => { r.http.target.port = 4000; },
      (r) => { r.http.tls = { certificate: "/etc/ssl/b.pem", key: "/etc/ssl/b.key" }; },
      (r) => { r.http.headers = { "X-A": "b" }; },
      (r) => { r.proxy.agent = undefined; r.proxy.privateKey = "-----BEGIN OPENSSH PRIVATE KEY-----\nk\n-----END OPENSSH PRIVATE KEY-----"; },
      (r) => { r.proxy.reloadCommand = "systemctl reload nginx"; },
      // Numbers that change no file: the SSH port and lock wait later runs (read, delete) must use.
      (r) => { r.proxy.port = 2222; },
      (r) => { r.proxy.lockTimeoutSeconds = 30; },
    ];
    for (const mutate of mutations) {
      const news = rawHttp();
      mutate(news);
      assert.deepStrictEqual(diff(stored(rawHttp()), news), { changes: true, replaces: [], deleteBeforeReplace: false });
    }
  });

  it("replaces when the proxy host, confDir, hostname or route kind changes", () => {
    const host = rawHttp(); host.proxy.host = "proxy2.example.com";
    assert.deepStrictEqual(diff(stored(rawHttp()), host).replaces, ["proxy"]);
    const dir = rawHttp(); dir.proxy.confDir = "/etc/nginx/other";
    assert.deepStrictEqual(diff(stored(rawHttp()), dir).replaces, ["proxy"]);
    const name = rawHttp(); name.http.hostname = "feature-y.preview.example.com";
    assert.deepStrictEqual(diff(stored(rawHttp()), name).replaces, ["http"]);
    assert.deepStrictEqual(diff(stored(rawHttp()), rawStream()).replaces, ["http", "stream"]);
    const udp = rawStream(); udp.stream.protocol = "udp";
    assert.deepStrictEqual(diff(stored(rawStream(), 2000), udp).replaces, ["stream"]);
  });

  it("keeps an allocated port while it fits the new range or equals the new fixed port", () => {
    const olds = stored(rawStream(), 2500);
    const wider = rawStream(); wider.stream.portRange = { from: 2400, to: 2600 };
    assert.deepStrictEqual(diff(olds, wider), { changes: true, replaces: [], deleteBeforeReplace: false });
    const elsewhere = rawStream(); elsewhere.stream.portRange = { from: 3000, to: 3100 };
    assert.deepStrictEqual(diff(olds, elsewhere).replaces, ["stream"]);
    const same = rawStream(); same.stream.listenPort = 2500;
    assert.deepStrictEqual(diff(olds, same).replaces, []);
    const other = rawStream(); other.stream.listenPort = 2222;
    assert.deepStrictEqual(diff(olds, other).replaces, ["stream"]);
  });

  it("replaces a route whose fixed listen port moves, and one that turns from stream into protected HTTP", () => {
    const fixed = rawStream(); fixed.stream.listenPort = 2500;
    const moved = rawStream(); moved.stream.listenPort = 2222;
    assert.deepStrictEqual(diff(stored(fixed, 2500), moved), { changes: true, replaces: ["stream"], deleteBeforeReplace: false });
    const protectedHttp = rawHttp(); protectedHttp.http.access = { basicAuth: { users: [{ name: "alice", password: "correct horse" }] } };
    assert.deepStrictEqual(diff(stored(rawStream(), 2500), protectedHttp).replaces, ["http", "stream"]);
  });

  it("keeps the port on the edges of the new range, and replaces one past them or with the range unknown", () => {
    const olds = stored(rawStream(), 2500);
    const range = (from: number, to: number) => { const r = rawStream(); r.stream.portRange = { from, to }; return r; };
    assert.deepStrictEqual(diff(olds, range(2500, 2500)).replaces, []);
    assert.deepStrictEqual(diff(olds, range(2501, 2600)).replaces, ["stream"]);
    assert.deepStrictEqual(diff(olds, range(2400, 2499)).replaces, ["stream"]);
    const unknown = rawStream(); unknown.stream.portRange = UNKNOWN;
    assert.deepStrictEqual(diff(olds, unknown).replaces, ["stream"]);
  });

  it("sees drift: a file on the host that differs from the rendering is rewritten", () => {
    const olds = { ...stored(rawHttp()), configSha256: sha256("edited by hand") };
    assert.deepStrictEqual(diff(olds, rawHttp()), { changes: true, replaces: [], deleteBeforeReplace: false });
  });

  it("treats unknown values as changes, and unknown replace fields as replacements", () => {
    const target = rawHttp(); target.http.target.host = UNKNOWN;
    assert.deepStrictEqual(diff(stored(rawHttp()), target), { changes: true, replaces: [], deleteBeforeReplace: false });
    const name = rawHttp(); name.http.hostname = UNKNOWN;
    assert.deepStrictEqual(diff(stored(rawHttp()), name).replaces, ["http"]);
    const port = rawStream(); port.stream.listenPort = UNKNOWN;
    assert.deepStrictEqual(diff(stored(rawStream(), 2000), port).replaces, ["stream"]);
  });

  it("covers every input field of the schema in its table", () => {
    const inputs = inputsOf({ ...rawHttp() });
    for (const key of Object.keys(inputs.proxy)) assert.ok(`proxy.${key}` in ROUTE_DIFF_TABLE, `proxy.${key}`);
    for (const key of Object.keys(inputs.http!)) assert.ok(`http.${key}` in ROUTE_DIFF_TABLE, `http.${key}`);
    for (const key of Object.keys(inputsOf(rawStream()).stream!)) assert.ok(`stream.${key}` in ROUTE_DIFF_TABLE, `stream.${key}`);
  });
});
