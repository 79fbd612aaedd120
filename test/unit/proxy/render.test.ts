import * as assert from "assert";
import * as fs from "fs";
import * as path from "path";
import { renderRoute, renderSharedHttpInclude, routeUrl } from "../../../provider/proxy/render";
import { parseRouteInputs, type ProxyRouteInputs } from "../../../provider/proxy/schema";
import { rawHttp, rawStream } from "./fixtures";

const GOLDEN_DIR = path.join(__dirname, "../../golden/proxy");

function inputsOf(raw: Record<string, any>): ProxyRouteInputs {
  const outcome = parseRouteInputs(raw);
  if (!outcome.ok || !outcome.complete) throw new Error(`fixture invalid: ${JSON.stringify(outcome)}`);
  return outcome.inputs;
}

/** Compares with the golden file; UPDATE_GOLDEN=1 rewrites it (review the diff before committing). */
function assertGolden(name: string, text: string): void {
  const file = path.join(GOLDEN_DIR, name);
  if (process.env.UPDATE_GOLDEN === "1") fs.writeFileSync(file, text);
  assert.strictEqual(text, fs.readFileSync(file, "utf8"), `rendering differs from ${file}`);
}

describe("proxy route rendering", () => {
  it("renders an HTTPS route with HTTP/2, WebSocket, forwarded headers and a redirect", () => {
    const inputs = inputsOf(rawHttp());
    const { path: file, content } = renderRoute(inputs);
    assert.strictEqual(file, "/etc/nginx/launchpad/http/feature-x.preview.example.com.conf");
    assertGolden("http-tls.conf", content);
    assert.strictEqual(routeUrl(inputs.proxy, inputs.http!), "https://feature-x.preview.example.com");
  });

  it("renders a plain HTTP route with extra headers, an https target and a listen address", () => {
    const raw = rawHttp();
    raw.proxy.listenAddress = "127.0.0.1";
    raw.proxy.httpPort = 8080;
    raw.http.tls = "none";
    raw.http.websocket = false;
    raw.http.maxBodySize = "50m";
    raw.http.target = { host: "fd00::5", port: 8443, protocol: "https", trustedCertificate: "/etc/ssl/internal-ca.pem" };
    raw.http.headers = { "X-Preview-Branch": "feature/x", "X-A": "1 2 3" };
    raw.http.responseHeaders = { "X-Robots-Tag": "noindex, nofollow" };
    const inputs = inputsOf(raw);
    assertGolden("http-plain.conf", renderRoute(inputs).content);
    assert.strictEqual(routeUrl(inputs.proxy, inputs.http!), "http://feature-x.preview.example.com:8080");
  });

  it("renders `http2 on` for nginx 1.25.1 and later, and non-default ports in the redirect", () => {
    const raw = rawHttp();
    Object.assign(raw.proxy, { http2: "directive", httpsPort: 8443, httpPort: 8080, confDir: "/srv/nginx/routes" });
    const inputs = inputsOf(raw);
    const { path: file, content } = renderRoute(inputs);
    assert.strictEqual(file, "/srv/nginx/routes/http/feature-x.preview.example.com.conf");
    assertGolden("http-directive.conf", content);
  });

  it("renders TCP and UDP stream routes named by protocol and port", () => {
    const tcp = inputsOf(rawStream());
    const tcpFile = renderRoute(tcp, 2001);
    assert.strictEqual(tcpFile.path, "/etc/nginx/launchpad/stream/tcp-2001.conf");
    assertGolden("stream-tcp.conf", tcpFile.content);
    const raw = rawStream();
    raw.proxy.listenAddress = "::1";
    raw.stream.protocol = "udp";
    raw.stream.target = { host: "dns.internal", port: 53 };
    const udpFile = renderRoute(inputsOf(raw), 5353);
    assert.strictEqual(udpFile.path, "/etc/nginx/launchpad/stream/udp-5353.conf");
    assertGolden("stream-udp.conf", udpFile.content);
  });

  it("renders the shared WebSocket map once, in its own include", () => {
    assertGolden("shared-http.conf", renderSharedHttpInclude());
  });

  it("refuses to render a stream route before its port is known", () => {
    assert.throws(() => renderRoute(inputsOf(rawStream())), /needs its port/);
  });
});
