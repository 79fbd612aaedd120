// AcmeCertificate's cross-field checks and diff, each rule on its own: the message a rule gives (read by
// the person who must fix the input), that no other field is blamed, and what values unknown during a
// preview do to them.
import * as assert from "assert";
import { diffCertificate, renewalDue } from "../../../provider/acme/diff";
import { baseName, parseCertificateInputs, UNKNOWN, type AcmeCertificateOutputs } from "../../../provider/acme/schema";

const FINGERPRINT = "SHA256:" + "A".repeat(43);
const KEY = "-----BEGIN OPENSSH PRIVATE KEY-----\nAAAA\n-----END OPENSSH PRIVATE KEY-----\n";
const raw = (): Record<string, any> => ({
  proxy: { host: "proxy.example.com", user: "launchpad", agent: "/run/agent.sock", hostKeyFingerprint: FINGERPRINT },
  hostname: "app.example.com",
  directoryUrl: "https://acme.example.com/dir",
  email: "ops@example.com",
});
const dns = () => ({ zone: "example.com", server: { kind: "powerdns", url: "http://127.0.0.1:8081", apiKey: "k", allowPlainHttp: true } });

function problems(input: Record<string, any>): { property: string; reason: string }[] {
  const outcome = parseCertificateInputs(input);
  assert.strictEqual(outcome.ok, false, "expected problems");
  return (outcome as { problems: { property: string; reason: string }[] }).problems;
}
function complete(input: Record<string, any>) {
  const outcome = parseCertificateInputs(input);
  assert.ok(outcome.ok && outcome.complete, JSON.stringify(outcome));
  return outcome.inputs;
}

function stored(overrides: Partial<AcmeCertificateOutputs> = {}): AcmeCertificateOutputs {
  return {
    ...complete(raw()), schemaVersion: 1, certificatePath: "/c.crt", keyPath: "/c.key", accountKey: "k", accountUrl: "u",
    notBefore: "2026-01-01T00:00:00.000Z", notAfter: "2026-04-01T00:00:00.000Z", serialNumber: "01", issuer: "x",
    issuedSha256: "aa", certificateSha256: "aa", ...overrides,
  };
}
const early = new Date("2026-02-01T00:00:00Z");
const news = (extra: Record<string, unknown> = {}) => ({ ...stored(), ...extra }) as unknown as Record<string, unknown>;

describe("AcmeCertificate cross-field checks", () => {
  it("says why each cross-field rule refuses, blaming that field alone", () => {
    assert.deepStrictEqual(problems({ ...raw(), hostname: "*.example.com", challenge: "http-01" }),
      [{ property: "challenge", reason: "a wildcard certificate can only be validated with dns-01 (RFC 8555 §7.1.3)" }]);
    assert.deepStrictEqual(problems({ ...raw(), challenge: "dns-01" }),
      [{ property: "dns", reason: "is required with challenge dns-01 (the DNS server the TXT record is written to)" }]);
    assert.deepStrictEqual(problems({ ...raw(), dns: dns() }), [{ property: "dns", reason: "is only used with challenge dns-01" }]);
    assert.deepStrictEqual(problems({ ...raw(), hostname: "*.other.org", dns: dns() }), [{ property: "dns.zone", reason: "does not hold _acme-challenge.other.org" }]);
    assert.deepStrictEqual(problems({ ...raw(), proxy: { ...raw().proxy, privateKey: KEY } }),
      [{ property: "proxy.agent", reason: "Only one of `proxy.privateKey` and `proxy.agent` can be given" }]);
  });

  it("reads an upper-case wildcard as one, and takes the zone check from the name below `*.`", () => {
    const wildcard = complete({ ...raw(), hostname: "*.APP.Example.com", dns: dns() });
    assert.deepStrictEqual([wildcard.hostname, wildcard.challenge], ["*.app.example.com", "dns-01"]);
    assert.deepStrictEqual(problems({ ...raw(), hostname: "*.Example.ORG", dns: dns() }).map((p) => p.property), ["dns.zone"]);
    assert.strictEqual(baseName("*.a.example.com"), "a.example.com");
    assert.strictEqual(baseName("a.*.example.com"), "a.*.example.com", "only a leading `*.` is a wildcard");
    assert.deepStrictEqual(problems({ ...raw(), hostname: "a.*.example.com" }).map((p) => p.property), ["hostname"]);
  });

  it("leaves the zone check to the zone's own rule when the zone or the name is no name", () => {
    assert.deepStrictEqual(problems({ ...raw(), hostname: "*.example.com", dns: { ...dns(), zone: "bad zone" } }).map((p) => p.property), ["dns.zone"]);
    assert.match(problems({ ...raw(), hostname: "*.example.com", dns: { ...dns(), zone: "bad zone" } })[0].reason, /must be a DNS zone name/);
    assert.deepStrictEqual(problems({ ...raw(), hostname: "bad name", challenge: "dns-01", dns: dns() }).map((p) => p.property), ["hostname"]);
  });

  it("counts a key and an agent only when both are known values", () => {
    assert.ok(parseCertificateInputs({ ...raw(), proxy: { ...raw().proxy, privateKey: UNKNOWN } }).ok);
    assert.ok(parseCertificateInputs({ ...raw(), proxy: { ...raw().proxy, privateKey: null } }).ok === false, "null is no key, but not the agent rule either");
    assert.ok(!problems({ ...raw(), proxy: { ...raw().proxy, privateKey: null } }).some((p) => p.property === "proxy.agent"));
    assert.deepStrictEqual(problems({ ...raw(), proxy: "proxy.example.com" }).map((p) => p.property), ["proxy"]);
    assert.ok(parseCertificateInputs({ ...raw(), dns: UNKNOWN, challenge: "dns-01" }).ok, "an unknown dns is taken as given");
    assert.ok(parseCertificateInputs({ ...raw(), dns: null }).ok === false);
    assert.ok(!problems({ ...raw(), dns: null }).some((p) => p.reason === "is only used with challenge dns-01"), "null is not a dns given");
  });

  it("asks for the DNS server of a wildcard that names no challenge", () => {
    assert.deepStrictEqual(problems({ ...raw(), hostname: "*.example.com" }),
      [{ property: "dns", reason: "is required with challenge dns-01 (the DNS server the TXT record is written to)" }]);
  });

  it("returns problems, never throws, for a missing, null or wrongly typed proxy or hostname", () => {
    for (const odd of [{ proxy: undefined }, { proxy: null }, { hostname: 5 }, { hostname: null }]) {
      let outcome: ReturnType<typeof parseCertificateInputs> | undefined;
      assert.doesNotThrow(() => { outcome = parseCertificateInputs({ ...raw(), ...odd }); }, JSON.stringify(odd));
      assert.strictEqual(outcome!.ok, false, JSON.stringify(odd));
    }
  });

  it("skips a rule whose field is unknown during a preview", () => {
    const outcome = parseCertificateInputs({ ...raw(), hostname: "*.example.com", challenge: UNKNOWN, dns: dns() });
    assert.deepStrictEqual(outcome, { ok: true, inputs: { ...raw(), hostname: "*.example.com", challenge: UNKNOWN, dns: dns() }, complete: false });
    const zone = parseCertificateInputs({ ...raw(), hostname: "*.example.com", dns: { ...dns(), zone: UNKNOWN } });
    assert.ok(zone.ok && !zone.complete, "an unknown zone is not yet outside the name");
    const nested = parseCertificateInputs({ ...raw(), proxy: { ...raw().proxy, agent: UNKNOWN, privateKey: KEY } });
    assert.ok(nested.ok && !nested.complete);
  });

  it("hands back the raw inputs, not complete, while any value is unknown, nested ones too", () => {
    for (const unknownAt of [
      { email: UNKNOWN },
      { proxy: { ...raw().proxy, host: UNKNOWN } },
      { hostname: "*.example.com", dns: { ...dns(), server: { ...dns().server, apiKey: UNKNOWN } } },
    ]) {
      const input = { ...raw(), ...unknownAt };
      assert.deepStrictEqual(parseCertificateInputs(input), { ok: true, inputs: input, complete: false }, JSON.stringify(unknownAt));
    }
  });

  it("completes the proxy's lock file under its confDir unless one is given", () => {
    assert.strictEqual(complete(raw()).proxy.lockFile, "/etc/nginx/launchpad/.launchpad.lock");
    assert.strictEqual(complete({ ...raw(), proxy: { ...raw().proxy, confDir: "/srv/routes" } }).proxy.lockFile, "/srv/routes/.launchpad.lock");
    assert.strictEqual(complete({ ...raw(), proxy: { ...raw().proxy, lockFile: "/run/lock/x.lock" } }).proxy.lockFile, "/run/lock/x.lock");
  });
});

describe("AcmeCertificate diff", () => {
  it("renews from the first moment of the window, and at once when the expiry cannot be read", () => {
    const notAfter = Date.parse("2026-04-01T00:00:00.000Z");
    assert.strictEqual(renewalDue(stored(), 30, new Date(notAfter - 30 * 86_400_000)), true, "the window's first millisecond");
    assert.strictEqual(renewalDue(stored(), 30, new Date(notAfter - 30 * 86_400_000 - 1)), false);
    assert.strictEqual(renewalDue(stored({ notAfter: "not a date" }), 30, early), true);
    assert.strictEqual(diffCertificate(stored({ notAfter: "garbage" }), news({ notAfter: "garbage" }), early).reissue, "due");
  });

  it("keeps the account key made on create when none is given, and records a new one without issuing", () => {
    assert.deepStrictEqual(diffCertificate(stored(), news({ accountKey: undefined }), early), { changes: false, replaces: [], deleteBeforeReplace: false });
    assert.deepStrictEqual(diffCertificate(stored(), news({ accountKey: "other" }), early), { changes: true, replaces: [], deleteBeforeReplace: false });
    assert.deepStrictEqual(diffCertificate(stored(), news({ email: undefined }), early).changes, true, "only the account key may be left out");
  });

  it("replaces on a new proxy host or confDir, or an unknown proxy, and only records other proxy settings", () => {
    const proxy = stored().proxy;
    assert.deepStrictEqual(diffCertificate(stored(), news({ proxy: { ...proxy, confDir: "/srv/other" } }), early).replaces, ["proxy"]);
    assert.deepStrictEqual(diffCertificate(stored(), news({ proxy: UNKNOWN }), early).replaces, ["proxy"]);
    assert.deepStrictEqual(diffCertificate(stored(), news({ proxy: { ...proxy, port: 2222 } }), early), { changes: true, replaces: [], deleteBeforeReplace: false });
    assert.deepStrictEqual(diffCertificate(stored(), news({ proxy: { ...proxy } }), early), { changes: false, replaces: [], deleteBeforeReplace: false });
  });

  it("takes the renewal window from the new inputs, or the stored one when not a number", () => {
    const inWindowOf60 = new Date("2026-02-15T00:00:00Z");
    assert.deepStrictEqual(diffCertificate(stored(), news({ renewBeforeDays: 60 }), inWindowOf60), { changes: true, replaces: [], deleteBeforeReplace: false, reissue: "due" });
    assert.deepStrictEqual(diffCertificate(stored({ renewBeforeDays: 60 }), news({ renewBeforeDays: UNKNOWN }), inWindowOf60),
      { changes: true, replaces: [], deleteBeforeReplace: false, reissue: "due" });
    assert.deepStrictEqual(diffCertificate(stored({ renewBeforeDays: 60 }), news({ renewBeforeDays: 30 }), inWindowOf60).reissue, undefined);
  });

  it("counts a due renewal as a change, sorts what replaces, and gives no reissue when it is replaced anyway", () => {
    assert.deepStrictEqual(diffCertificate(stored({ certificateSha256: "bb" }), news({ certificateSha256: "bb" }), early),
      { changes: true, replaces: [], deleteBeforeReplace: false, reissue: "drift" });
    const both = diffCertificate(stored(), news({ proxy: { ...stored().proxy, host: "b.example.com" }, hostname: "b.example.com", keyType: "rsa-2048" }), early);
    assert.deepStrictEqual(both, { changes: true, replaces: ["hostname", "proxy"], deleteBeforeReplace: false });
  });
});
