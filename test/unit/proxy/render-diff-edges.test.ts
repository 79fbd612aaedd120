// ProxyRoute's pure parts on their edges: URLs with and without default ports, the auth service's and the
// ACME challenge server's nginx text, password verifiers, and the diff on inputs check did not normalize
// (a failed check hands the raw values to diff) or on ports that no longer fit.
import * as assert from "assert";
import { diffRoute } from "../../../provider/proxy/diff";
import { passwordVerifier, sealAccess, verifies } from "../../../provider/proxy/access";
import {
  acmeChallengeServerPath, acmeTokenPath, hostLayout, renderAcmeChallengeServer, renderRoute, routeUrl, sha256,
} from "../../../provider/proxy/render";
import { parseRouteInputs, UNKNOWN, type ProxyRouteInputs, type ProxyRouteOutputs } from "../../../provider/proxy/schema";
import { rawHttp, rawStream } from "./fixtures";

function inputsOf(raw: Record<string, any>): ProxyRouteInputs {
  const outcome = parseRouteInputs(raw);
  if (!outcome.ok || !outcome.complete) throw new Error(`fixture invalid: ${JSON.stringify(outcome)}`);
  return outcome.inputs;
}
function stored(raw: Record<string, any>, port?: number): ProxyRouteOutputs {
  const inputs = inputsOf(raw);
  const { path, content } = renderRoute(inputs, port);
  return { ...inputs, schemaVersion: 1, port, configPath: path, configSha256: sha256(content) };
}
const withHttp = (http: Record<string, unknown>, proxy: Record<string, unknown> = {}) => ({ ...rawHttp(), proxy: { ...rawHttp().proxy, ...proxy }, http: { ...rawHttp().http, ...http } });

describe("proxy render edges", () => {
  it("leaves the scheme's default port out of a URL, and puts any other in", () => {
    const url = (http: Record<string, unknown>, proxy: Record<string, unknown> = {}) => { const i = inputsOf(withHttp(http, proxy)); return routeUrl(i.proxy, i.http!); };
    assert.strictEqual(url({}), "https://feature-x.preview.example.com");
    assert.strictEqual(url({}, { httpsPort: 8443 }), "https://feature-x.preview.example.com:8443");
    assert.strictEqual(url({ tls: "none" }), "http://feature-x.preview.example.com");
    assert.strictEqual(url({ tls: "none" }, { httpPort: 8080, httpsPort: 443 }), "http://feature-x.preview.example.com:8080");
    assert.strictEqual(url({}, { httpPort: 8080 }), "https://feature-x.preview.example.com", "the HTTP port does not show in an https URL");
  });

  it("keeps its files under confDir, the lock file too unless one is given", () => {
    const proxy = inputsOf(withHttp({}, { confDir: "/srv/routes" })).proxy;
    assert.deepStrictEqual(hostLayout({ ...proxy, lockFile: undefined }), {
      httpDir: "/srv/routes/http", streamDir: "/srv/routes/stream", sharedHttpInclude: "/srv/routes/http/_launchpad-shared.conf", lockFile: "/srv/routes/.launchpad.lock",
    });
    assert.strictEqual(hostLayout({ ...proxy, lockFile: "/run/x.lock" }).lockFile, "/run/x.lock");
    assert.strictEqual(acmeTokenPath(proxy, "tok_EN-1"), "/srv/routes/acme/.well-known/acme-challenge/tok_EN-1");
    assert.strictEqual(acmeChallengeServerPath(proxy, "a.example.com"), "/srv/routes/http/_acme-a.example.com.conf");
  });

  it("renders the ACME challenge server: the challenge webroot, everything else 404", () => {
    const proxy = inputsOf(withHttp({}, { confDir: "/srv/routes", listenAddress: "192.0.2.1", httpPort: 8080 })).proxy;
    assert.strictEqual(renderAcmeChallengeServer(proxy, "a.example.com"), [
      "# Managed by pulumi-launchpad (AcmeCertificate): answers HTTP-01 challenges while a certificate is issued.",
      "server {",
      "    listen 192.0.2.1:8080;",
      "    server_name a.example.com;",
      "    location ^~ /.well-known/acme-challenge/ {",
      "        root /srv/routes/acme;",
      "    }",
      "    location / {",
      "        return 404;",
      "    }",
      "}",
      "",
    ].join("\n"));
  });

  it("checks an https target's certificate only when given one to trust", () => {
    const text = (target: Record<string, unknown>) => renderRoute(inputsOf(withHttp({ target: { host: "10.0.0.5", port: 443, ...target } }))).content;
    const unverified = text({ protocol: "https" });
    assert.match(unverified, /proxy_ssl_server_name on;/);
    assert.doesNotMatch(unverified, /proxy_ssl_verify|proxy_ssl_trusted_certificate/);
    assert.match(text({ protocol: "https", trustedCertificate: "/etc/ssl/ca.pem" }), /proxy_ssl_verify on;\n\s+proxy_ssl_trusted_certificate \/etc\/ssl\/ca\.pem;/);
    assert.doesNotMatch(text({}), /proxy_ssl/);
  });

  it("renders the auth service: SNI only for an https one, a sign-in redirect only when given, with & after an existing query", () => {
    const text = (authRequest: Record<string, unknown>) => renderRoute(inputsOf(withHttp({ access: { authRequest } }))).content;
    const plain = text({ url: "http://auth.internal:4180/oauth2/auth" });
    assert.doesNotMatch(plain, /proxy_ssl_server_name/);
    assert.doesNotMatch(plain, /error_page 401|@launchpad_sign_in/);
    const secure = text({ url: "https://auth.example.com/oauth2/auth", signInUrl: "https://auth.example.com/oauth2/start?x=1", redirectParameter: "back" });
    assert.match(secure, /location = \/_launchpad\/auth \{[^}]*proxy_ssl_server_name on;\n    \}/);
    assert.match(secure, /error_page 401 = @launchpad_sign_in;/);
    assert.match(secure, /location @launchpad_sign_in \{\n\s+return 302 https:\/\/auth\.example\.com\/oauth2\/start\?x=1&back=\$scheme:\/\/\$http_host\$request_uri;/);
    assert.match(text({ url: "https://a.example.com/auth", signInUrl: "https://a.example.com/start" }), /return 302 https:\/\/a\.example\.com\/start\?rd=\$scheme/);
  });
});

describe("proxy password verifiers", () => {
  it("verifies only a well-formed scrypt verifier of the same password", () => {
    const verifier = passwordVerifier("pw", "salt");
    assert.ok(verifies(verifier, "pw"));
    assert.ok(!verifies(verifier, "other"));
    assert.ok(!verifies(verifier.replace(/^scrypt/, "bcrypt"), "pw"));
    assert.ok(!verifies("scrypt$salt", "pw"));
    assert.ok(!verifies("scrypt$$abc", "pw"));
    assert.ok(!verifies(undefined, "pw"));
  });

  it("seals only basic-auth passwords that are text, keeping a verifier that still fits", () => {
    const authRequest = { authRequest: { url: "https://a.example.com/auth" } };
    assert.strictEqual(sealAccess(authRequest, undefined), authRequest, "nothing to seal");
    assert.strictEqual(sealAccess(undefined, undefined), undefined);
    const odd = { basicAuth: { users: "not a list" } };
    assert.strictEqual(sealAccess(odd, undefined), odd);
    const previous = { basicAuth: { realm: "R", users: [{ name: "a", passwordVerifier: passwordVerifier("pw") }] } } as never;
    const sealed = sealAccess({ basicAuth: { users: [{ name: "a", password: "pw" }, { name: "b", password: UNKNOWN }, { name: "c" }] } }, previous) as any;
    assert.deepStrictEqual(sealed.basicAuth.users[0], { name: "a", passwordVerifier: (previous as any).basicAuth.users[0].passwordVerifier });
    assert.ok(verifies(sealed.basicAuth.users[1].passwordVerifier, UNKNOWN), "a text value is sealed even when it is the unknown marker");
    assert.deepStrictEqual(sealed.basicAuth.users[2], { name: "c" }, "no password: left as it is");
    const noPrevious = sealAccess({ basicAuth: { users: [{ name: "a", password: "pw" }] } }, { basicAuth: { realm: "R" } } as never) as any;
    assert.ok(verifies(noPrevious.basicAuth.users[0].passwordVerifier, "pw"));
  });
});

describe("proxy diff edges", () => {
  it("replaces a stream route whose stored port is unknown, or whose new inputs give no usable range", () => {
    const news = (stream: Record<string, unknown>) => ({ ...rawStream(), stream: { ...rawStream().stream, ...stream } });
    const noPort = stored(news({ target: { host: "10.0.0.6", port: 22 } }), 2500);
    assert.deepStrictEqual(diffRoute({ ...noPort, port: undefined }, inputsOf(news({ portRange: { from: 2000, to: 3000 } })) as never, true).replaces, ["stream"]);
    const olds = stored(rawStream(), 2500);
    assert.deepStrictEqual(diffRoute(olds, inputsOf(news({ target: { host: "10.0.0.9", port: 22 } })) as never, true).replaces, [], "a target change alone keeps the port");
    // What a failed check hands on: normalized values with one part odd.
    const base = inputsOf(rawStream()) as unknown as Record<string, any>;
    const odd = (stream: Record<string, unknown>) => ({ ...base, stream: { ...base.stream, ...stream } });
    assert.deepStrictEqual(diffRoute(olds, odd({ portRange: { from: UNKNOWN, to: 3000 } }), false).replaces, ["stream"]);
    assert.deepStrictEqual(diffRoute(olds, odd({ portRange: { from: 2000, to: "3000" } }), false).replaces, ["stream"]);
    assert.deepStrictEqual(diffRoute(olds, odd({ portRange: { from: "2000", to: 3000 } }), false).replaces, ["stream"]);
    assert.deepStrictEqual(diffRoute(olds, odd({ portRange: undefined }), false).replaces, ["stream"], "no range at all: the port cannot be kept");
    assert.deepStrictEqual(diffRoute(olds, odd({ portRange: { from: 2000, to: 3000 }, target: { host: "10.0.0.9", port: 22 } }), false).replaces, [], "it still fits");
  });

  it("counts an object present on one side only as a change, even an empty one", () => {
    const olds = stored(rawHttp());
    const raw = inputsOf(rawHttp()) as unknown as Record<string, any>;
    const { headers: _headers, ...withoutHeaders } = raw.http;
    assert.strictEqual(diffRoute(olds, { ...raw, http: withoutHeaders }, false).changes, true);
    assert.strictEqual(diffRoute(olds, { ...raw, http: { ...raw.http, headers: {} } }, true).changes, false);
  });

  it("replaces a stream route that becomes an HTTP route, and counts an object that appears empty as a change", () => {
    const olds = stored(rawStream(), 2500);
    assert.deepStrictEqual(diffRoute(olds, inputsOf(rawHttp()) as never, true).replaces, ["http", "stream"]);
    const http = stored(rawHttp());
    const raw = inputsOf(rawHttp()) as unknown as Record<string, any>;
    assert.strictEqual(diffRoute(http, { ...raw, http: { ...raw.http, access: {} } }, false).changes, true);
  });

  it("sees a change of a number or a list element as a change", () => {
    const olds = stored(rawHttp());
    assert.strictEqual(diffRoute(olds, inputsOf(withHttp({ target: { host: "10.0.0.5", port: 3001 } })) as never, true).changes, true);
    const cidrs = (list: string[]) => withHttp({ access: { basicAuth: { users: [{ name: "a", passwordVerifier: "scrypt$a$b" }] }, allowCidrs: list } });
    const before = { ...stored(rawHttp()), http: (parseRouteInputs(cidrs(["10.0.0.0/8"]), { stored: true }) as any).inputs.http } as ProxyRouteOutputs;
    const after = (parseRouteInputs(cidrs(["10.0.0.0/9"]), { stored: true }) as any).inputs;
    assert.strictEqual(diffRoute(before, after, false).changes, true);
  });

  it("compares new passwords against the stored verifiers, not as text", () => {
    const raw = withHttp({ access: { basicAuth: { users: [{ name: "a", password: "pw" }] } } });
    const inputs = inputsOf(raw);
    const sealed = sealAccess(inputs.http!.access as never, undefined);
    const olds = { ...stored(raw), http: { ...inputs.http!, access: sealed } } as ProxyRouteOutputs;
    olds.configSha256 = sha256(renderRoute(inputs).content);
    assert.deepStrictEqual(diffRoute(olds, inputs as never, true), { changes: false, replaces: [], deleteBeforeReplace: false });
    const changed = inputsOf(withHttp({ access: { basicAuth: { users: [{ name: "a", password: "new" }] } } }));
    assert.strictEqual(diffRoute(olds, changed as never, true).changes, true);
  });

  it("lists what replaces in a stable order", () => {
    const olds = stored(rawHttp());
    const both = inputsOf(withHttp({ hostname: "other.preview.example.com" }, { host: "proxy2.example.com" }));
    assert.deepStrictEqual(diffRoute(olds, both as never, true).replaces, ["http", "proxy"]);
  });
});
