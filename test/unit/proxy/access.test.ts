// Access protection on HTTP routes: what check refuses (naming the field), what nginx gets, and
// how state keeps passwords (verifiers only) without a diff when nothing changed.
import * as assert from "assert";
import * as fs from "fs";
import * as path from "path";
import { passwordVerifier, sealAccess, verifies } from "../../../provider/proxy/access";
import { diffRoute } from "../../../provider/proxy/diff";
import { renderRoute, sha256 } from "../../../provider/proxy/render";
import { parseRouteInputs, parseStoredRoute, type ProxyRouteInputs, type ProxyRouteOutputs } from "../../../provider/proxy/schema";
import { rawHttp } from "./fixtures";

type Raw = Record<string, any>;
const GOLDEN_DIR = path.join(__dirname, "../../golden/proxy");

function assertGolden(name: string, text: string): void {
  const file = path.join(GOLDEN_DIR, name);
  if (process.env.UPDATE_GOLDEN === "1") fs.writeFileSync(file, text);
  assert.strictEqual(text, fs.readFileSync(file, "utf8"), `rendering differs from ${file}`);
}

function withAccess(access: Raw): Raw {
  const raw = rawHttp();
  raw.http.access = access;
  return raw;
}

function inputsOf(raw: Raw): ProxyRouteInputs {
  const outcome = parseRouteInputs(raw);
  if (!outcome.ok || !outcome.complete) throw new Error(`fixture invalid: ${JSON.stringify(outcome)}`);
  return outcome.inputs;
}

function problemsOf(raw: Raw): string[] {
  const outcome = parseRouteInputs(raw);
  assert.strictEqual(outcome.ok, false, "expected check to fail");
  return (outcome as { problems: { property: string; reason: string }[] }).problems.map((p) => p.property);
}

const basic = () => ({ basicAuth: { users: [{ name: "alice", password: "correct horse" }] } });
const authRequest = () => ({
  authRequest: {
    url: "http://127.0.0.1:4180/oauth2/auth",
    signInUrl: "https://auth.example.com/oauth2/start",
    identityHeaders: { "X-User-ID": "X-Auth-Request-User", "X-Username": "X-Auth-Request-Preferred-Username" },
  },
  bypassPaths: ["/healthz"],
  allowCidrs: ["10.0.0.0/8", "fd00::/8"],
});

describe("proxy route access protection", () => {
  it("renders basic auth with an htpasswd file next to the routes", () => {
    const { content } = renderRoute(inputsOf(withAccess(basic())));
    assertGolden("http-basic-auth.conf", content);
    assert.match(content, /auth_basic_user_file \/etc\/nginx\/launchpad\/auth\/feature-x\.preview\.example\.com\.htpasswd;/);
    assert.doesNotMatch(content, /correct horse/);
  });

  it("renders auth_request with identity headers, a sign-in redirect, bypass paths and an allow-list", () => {
    const { content } = renderRoute(inputsOf(withAccess(authRequest())));
    assertGolden("http-auth-request.conf", content);
    assert.match(content, /auth_request_set \$launchpad_identity_0 \$upstream_http_x_auth_request_user;\n\s+proxy_set_header X-User-ID \$launchpad_identity_0;/);
    assert.match(content, /return 302 https:\/\/auth\.example\.com\/oauth2\/start\?rd=\$scheme:\/\/\$http_host\$request_uri;/);
    assert.match(content, /location = \/healthz \{\n\s+proxy_pass http:\/\/10\.0\.0\.5:3000;/);
    assert.match(content, /satisfy any;\n\s+allow 10\.0\.0\.0\/8;\n\s+allow fd00::\/8;\n\s+deny all;/);
  });

  it("refuses, naming the field, whatever could break out of an nginx token", () => {
    const cases: [Raw, string][] = [
      [{ basicAuth: { users: [{ name: "al ice", password: "x" }] } }, "http.access.basicAuth.users[0].name"],
      [{ basicAuth: { users: [{ name: "alice:x", password: "x" }] } }, "http.access.basicAuth.users[0].name"],
      [{ basicAuth: { users: [{ name: "alice", password: "a\nb" }] } }, "http.access.basicAuth.users[0].password"],
      [{ basicAuth: { users: [{ name: "alice" }] } }, "http.access.basicAuth.users[0].password"],
      [{ basicAuth: { users: [{ name: "alice", password: "x", passwordVerifier: "scrypt$a$b" }] } }, "http.access.basicAuth.users[0].passwordVerifier"],
      [{ basicAuth: { users: [{ name: "a", password: "x" }, { name: "a", password: "y" }] } }, "http.access.basicAuth.users[1].name"],
      [{ basicAuth: { realm: 'x"; return 200; #', users: [{ name: "a", password: "x" }] } }, "http.access.basicAuth.realm"],
      [{ basicAuth: { users: [] } }, "http.access.basicAuth.users"],
      [{ authRequest: { url: "http://auth/x;return 200" } }, "http.access.authRequest.url"],
      [{ authRequest: { url: "ftp://auth/x" } }, "http.access.authRequest.url"],
      [{ authRequest: { url: "http://auth/$host" } }, "http.access.authRequest.url"],
      [{ authRequest: { url: "http://auth/", signInUrl: "https://a/ b" } }, "http.access.authRequest.signInUrl"],
      [{ authRequest: { url: "http://auth/", identityHeaders: { "X-User": "bad header" } } }, "http.access.authRequest.identityHeaders.X-User"],
      [{ authRequest: { url: "http://auth/", identityHeaders: { Host: "X-User" } } }, "http.access.authRequest.identityHeaders.Host"],
      [{ authRequest: { url: "http://auth/", redirectParameter: "r d" } }, "http.access.authRequest.redirectParameter"],
      [{ ...basic(), bypassPaths: ["/health; allow all"] }, "http.access.bypassPaths[0]"],
      [{ ...basic(), allowCidrs: ["10.0.0.0/33"] }, "http.access.allowCidrs[0]"],
      [{ ...basic(), allowCidrs: ["all"] }, "http.access.allowCidrs[0]"],
      [{ ...basic(), allowCidrs: ["10.0.0.1/32", "fd00::/129"] }, "http.access.allowCidrs[1]"],
      [{ ...basic(), allowCidrs: ["fe80::1%eth0"] }, "http.access.allowCidrs[0]"],
      [{ ...basic(), allowCidrs: ["1.2.3/8"] }, "http.access.allowCidrs[0]"],
      [{ ...basic(), bypassPaths: ["/_launchpad/auth"] }, "http.access.bypassPaths[0]"],
      [{ ...basic(), bypassPaths: ["/a", "/a"] }, "http.access.bypassPaths[1]"],
      [{ ...basic(), ...authRequest() }, "http.access.authRequest"],
      [{ bypassPaths: ["/healthz"] }, "http.access"],
      [{ ...basic(), extra: 1 }, "http.access.extra"],
    ];
    // The widest prefix of each family is a valid range, not a problem.
    assert.strictEqual(parseRouteInputs(withAccess({ ...basic(), allowCidrs: ["10.0.0.1/32", "::1/128"] })).ok, true);
    for (const [access, field] of cases) {
      assert.ok(problemsOf(withAccess(access)).includes(field), `${JSON.stringify(access)} should name ${field}; got ${problemsOf(withAccess(access))}`);
    }
  });

  it("refuses a verifier of another scheme, without salt or hash, or with a cut hash, instead of throwing", () => {
    const [, salt, hash] = passwordVerifier("correct horse").split("$");
    assert.ok(verifies(`scrypt$${salt}$${hash}`, "correct horse"));
    for (const bad of [`md5$${salt}$${hash}`, `scrypt$$${hash}`, `scrypt$${salt}$`, `scrypt$${salt}$${hash.slice(0, 20)}`, "", undefined]) {
      assert.strictEqual(verifies(bad, "correct horse"), false, String(bad));
    }
  });

  it("keeps verifiers, not passwords, and sees a changed password", () => {
    const verifier = passwordVerifier("correct horse");
    assert.ok(verifies(verifier, "correct horse"));
    assert.ok(!verifies(verifier, "wrong"));
    const inputs = inputsOf(withAccess(basic()));
    const sealed = sealAccess(inputs.http!.access, undefined)!;
    assert.deepStrictEqual(Object.keys(sealed.basicAuth!.users[0]).sort(), ["name", "passwordVerifier"]);
    assert.doesNotMatch(JSON.stringify(sealed), /correct horse/);
    const { path: configPath, content } = renderRoute(inputs);
    const olds: ProxyRouteOutputs = parseStoredRoute({
      ...inputs, http: { ...inputs.http, access: sealed }, schemaVersion: 1, configPath, configSha256: sha256(content),
    });
    assert.strictEqual(diffRoute(olds, inputs as never, true).changes, false, "the same password is no change");
    const changed = inputsOf(withAccess({ basicAuth: { users: [{ name: "alice", password: "battery staple" }] } }));
    assert.deepStrictEqual(diffRoute(olds, changed as never, true), { changes: true, replaces: [], deleteBeforeReplace: false });
    assert.strictEqual(sealAccess(inputs.http!.access, olds.http!.access)!.basicAuth!.users[0].passwordVerifier, sealed.basicAuth!.users[0].passwordVerifier);
  });
  it("seals the passwords of a route switching from auth_request to basic auth (the stored access has no users)", () => {
    const previous = inputsOf(withAccess({ authRequest: { url: "https://auth.example.com/oauth2/auth" } })).http!.access;
    const sealed = sealAccess(inputsOf(withAccess(basic())).http!.access, previous)!;
    assert.deepStrictEqual(sealed.basicAuth!.users.map((user) => user.name), ["alice"]);
    assert.ok(verifies(sealed.basicAuth!.users[0].passwordVerifier, "correct horse"));
    assert.doesNotMatch(JSON.stringify(sealed), /correct horse/);
  });
});
