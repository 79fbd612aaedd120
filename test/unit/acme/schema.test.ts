// AcmeCertificate's check (every problem named by its field, before any network call) and its diff
// (replace, issue again in place, or only record; the renewal window from an injected clock).
import * as assert from "assert";
import { diffCertificate, renewalDue } from "../../../provider/acme/diff";
import { certificatePaths, parseCertificateInputs, parseStoredCertificate, type AcmeCertificateOutputs } from "../../../provider/acme/schema";

const FINGERPRINT = "SHA256:" + "A".repeat(43);
const raw = (): Record<string, any> => ({
  proxy: { host: "proxy.example.com", user: "launchpad", agent: "/run/agent.sock", hostKeyFingerprint: FINGERPRINT },
  hostname: "app.example.com",
  directoryUrl: "https://acme.example.com/dir",
  email: "ops@example.com",
});
const dns = { zone: "example.com", server: { kind: "powerdns", url: "http://127.0.0.1:8081", apiKey: "k", allowPlainHttp: true } };

function fields(input: Record<string, any>): string[] {
  const outcome = parseCertificateInputs(input);
  assert.strictEqual(outcome.ok, false);
  return (outcome as { problems: { property: string }[] }).problems.map((p) => p.property);
}

function stored(overrides: Partial<AcmeCertificateOutputs> = {}): AcmeCertificateOutputs {
  const outcome = parseCertificateInputs(raw());
  assert.ok(outcome.ok && outcome.complete);
  return {
    ...outcome.inputs, schemaVersion: 1, certificatePath: "/c.crt", keyPath: "/c.key", accountKey: "k", accountUrl: "u",
    notBefore: "2026-01-01T00:00:00.000Z", notAfter: "2026-04-01T00:00:00.000Z", serialNumber: "01", issuer: "x",
    issuedSha256: "aa", certificateSha256: "aa", ...overrides,
  };
}

describe("AcmeCertificate check and diff", () => {
  it("fills defaults: http-01 for one name, dns-01 for a wildcard, 30 days, ec-p256", () => {
    const outcome = parseCertificateInputs(raw());
    assert.ok(outcome.ok && outcome.complete);
    assert.strictEqual(outcome.inputs.challenge, "http-01");
    assert.strictEqual(outcome.inputs.renewBeforeDays, 30);
    assert.strictEqual(outcome.inputs.keyType, "ec-p256");
    const wildcard = parseCertificateInputs({ ...raw(), hostname: "*.Example.com", dns });
    assert.ok(wildcard.ok && wildcard.complete);
    assert.strictEqual(wildcard.inputs.challenge, "dns-01");
    assert.strictEqual(wildcard.inputs.hostname, "*.example.com");
  });

  it("names every bad field", () => {
    assert.deepStrictEqual(fields({ ...raw(), hostname: "app;example.com" }), ["hostname"]);
    assert.deepStrictEqual(fields({ ...raw(), directoryUrl: "http://acme.example.com/dir" }), ["directoryUrl"]);
    assert.deepStrictEqual(fields({ ...raw(), directoryUrl: "acme.example.com/dir" }), ["directoryUrl"], "no URL at all");
    assert.deepStrictEqual(fields({ ...raw(), email: "ops" }), ["email"]);
    assert.deepStrictEqual(fields({ ...raw(), hostname: "*.example.com", challenge: "http-01" }), ["challenge"]);
    assert.deepStrictEqual(fields({ ...raw(), challenge: "dns-01" }), ["dns"]);
    assert.deepStrictEqual(fields({ ...raw(), dns }), ["dns"]);
    assert.deepStrictEqual(fields({ ...raw(), hostname: "*.other.org", dns }), ["dns.zone"]);
    assert.deepStrictEqual(fields({ ...raw(), renewBeforeDays: 0 }), ["renewBeforeDays"]);
    assert.deepStrictEqual(fields({ ...raw(), keyType: "dsa" }), ["keyType"]);
    assert.deepStrictEqual(fields({ ...raw(), accountKey: "not a key" }), ["accountKey"]);
    assert.deepStrictEqual(fields({ ...raw(), extra: true }), ["extra"]);
  });

  it("renews within the window, replaces on a new name or host, issues again on a new CA, records the rest", () => {
    const inWindow = new Date("2026-03-15T00:00:00Z");
    const early = new Date("2026-02-01T00:00:00Z");
    assert.ok(renewalDue(stored(), 30, inWindow));
    assert.ok(!renewalDue(stored(), 30, early));
    const news = () => ({ ...stored() }) as unknown as Record<string, unknown>;
    assert.deepStrictEqual(diffCertificate(stored(), news(), early), { changes: false, replaces: [], deleteBeforeReplace: false });
    assert.strictEqual(diffCertificate(stored(), news(), inWindow).reissue, "due");
    assert.strictEqual(diffCertificate(stored({ certificateSha256: "bb" }), news(), early).reissue, "drift");
    assert.deepStrictEqual(diffCertificate(stored(), { ...news(), hostname: "b.example.com" }, early).replaces, ["hostname"]);
    const moved = { ...news(), proxy: { ...stored().proxy, host: "other.example.com" } };
    assert.deepStrictEqual(diffCertificate(stored(), moved, early).replaces, ["proxy"]);
    assert.strictEqual(diffCertificate(stored(), { ...news(), directoryUrl: "https://other/dir" }, early).reissue, "input");
    const recorded = diffCertificate(stored(), { ...news(), email: "new@example.com" }, early);
    assert.deepStrictEqual([recorded.changes, recorded.reissue], [true, undefined]);
  });

  it("keeps the certificate and key under the proxy's confDir/certs, a wildcard's as `_.` (a file name cannot start with `*`)", () => {
    const proxy = stored().proxy;
    assert.deepStrictEqual(certificatePaths({ proxy, hostname: "app.example.com" }),
      { certificatePath: `${proxy.confDir}/certs/app.example.com.crt`, keyPath: `${proxy.confDir}/certs/app.example.com.key` });
    assert.deepStrictEqual(certificatePaths({ proxy, hostname: "*.example.com" }),
      { certificatePath: `${proxy.confDir}/certs/_.example.com.crt`, keyPath: `${proxy.confDir}/certs/_.example.com.key` });
  });

  it("reads stored state without the provider text the host adds", () => {
    const state = parseStoredCertificate({ ...stored(), __provider: "provider-text" } as unknown as Record<string, unknown>);
    assert.deepStrictEqual(state, stored());
  });
});
