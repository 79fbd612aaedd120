// PreviewEnvironment with `proxy.tls: "acme"`: a certificate child between the DNS record (HTTP-01
// asks the public name) and the route; the ACME settings checked by field before anything exists.
import * as assert from "assert";
import { isLaunchpadError, ValidationError } from "../../../provider/errors";
import { planPreview, type PreviewEnvironmentArgs } from "../../../src/preview";

const base = { host: "proxy.example.com", user: "launchpad", hostKeyFingerprint: `SHA256:${"A".repeat(43)}` };
const acme = { directoryUrl: "https://acme.example.com/dir", email: "ops@example.com" };
const dns = { kind: "self-hosted" as const, server: { kind: "powerdns" as const, url: "http://127.0.0.1:8081", apiKey: "k", allowPlainHttp: true } };

function problemsOf(args: PreviewEnvironmentArgs): string[] {
  try {
    planPreview(args);
  } catch (error) {
    assert.ok(isLaunchpadError(error, "ERR_VALIDATION"));
    return (error as ValidationError).problems.map((p) => p.property);
  }
  assert.fail("planPreview accepted bad arguments");
}

describe("planPreview with ACME certificates", () => {
  it("adds a certificate after the DNS record and before the route", () => {
    const plan = planPreview({ branch: "main", image: "nginx", domain: "preview.example.com", dns, proxy: { ...base, tls: "acme", acme }, services: { http: 8080 } });
    assert.strictEqual(plan.certificate, true);
    assert.deepStrictEqual(plan.children, ["container", "dns", "cert", "http"]);
  });

  it("paths and \"none\" make no certificate", () => {
    const plan = planPreview({ branch: "main", image: "nginx", domain: "preview.example.com", proxy: { ...base, tls: "none" }, services: { http: 8080 } });
    assert.strictEqual(plan.certificate, false);
    assert.deepStrictEqual(plan.children, ["container", "http"]);
  });

  it("names the missing or misplaced ACME settings", () => {
    const args = { branch: "main", image: "nginx", domain: "preview.example.com", services: { http: 8080 } };
    assert.deepStrictEqual(problemsOf({ ...args, proxy: { ...base, tls: "acme" } }), ["proxy.acme"]);
    assert.deepStrictEqual(problemsOf({ ...args, proxy: { ...base, tls: "acme", acme: { directoryUrl: acme.directoryUrl } as never } }), ["proxy.acme.email"]);
    assert.deepStrictEqual(problemsOf({ ...args, proxy: { ...base, tls: "none", acme } }), ["proxy.acme"]);
  });
});
