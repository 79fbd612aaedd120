// AcmeCertificate's secrets: check registers every credential it is handed (old and new inputs), so no
// later message can print it, and it does so without trusting their types (check reports a wrongly
// typed field, it must not throw over it). No connection is made.
import * as assert from "assert";
import * as crypto from "crypto";
import { provider } from "../../../provider/acme";
import { registerCertificateSecrets } from "../../../provider/acme/apply";
import { redact } from "../../../provider/errors";

const FINGERPRINT = "SHA256:" + "A".repeat(43);
/** A value no secret pattern would catch on its own: only registration masks it. */
const secretValue = (what: string) => `${what}-${crypto.randomBytes(6).toString("hex")}`;
const raw = (extra: Record<string, unknown> = {}): Record<string, any> => ({
  proxy: { host: "proxy.example.com", user: "launchpad", agent: "/run/agent.sock", hostKeyFingerprint: FINGERPRINT },
  hostname: "app.example.com",
  directoryUrl: "https://acme.example.com/dir",
  email: "ops@example.com",
  ...extra,
});

describe("AcmeCertificate secrets", () => {
  it("registers the account key, the SSH key and passphrase and the DNS server's credentials of old and new inputs", async () => {
    const [accountKey, privateKey, passphrase, apiKey, oldAccountKey, oldPassphrase, tsigSecret] =
      ["account", "ssh", "pass", "api", "old-account", "old-pass", "tsig"].map(secretValue);
    const news = raw({
      accountKey, challenge: "dns-01",
      proxy: { ...raw().proxy, agent: undefined, privateKey, passphrase },
      dns: { zone: "example.com", server: { kind: "powerdns", url: "http://127.0.0.1:8081", apiKey, allowPlainHttp: true } },
    });
    const olds = raw({
      accountKey: oldAccountKey, proxy: { ...raw().proxy, passphrase: oldPassphrase },
      dns: { zone: "example.com", server: { kind: "rfc2136", host: "127.0.0.1", tsig: { name: "k", algorithm: "hmac-sha256", secret: tsigSecret } } },
    });
    await provider.check!(olds, news);
    const all = [accountKey, privateKey, passphrase, apiKey, oldAccountKey, oldPassphrase, tsigSecret];
    assert.strictEqual(redact(`failed: ${all.join(" | ")}`), `failed: ${all.map(() => "[secret]").join(" | ")}`);
  });

  it("reports wrongly typed credentials and missing settings as problems, never throwing over them", async () => {
    const odd = raw({ accountKey: 42, proxy: { ...raw().proxy, agent: undefined, privateKey: 42, passphrase: 42 } });
    const result = await provider.check!({}, odd);
    assert.deepStrictEqual(result.failures!.map((f) => f.property).sort(), ["accountKey", "proxy.passphrase", "proxy.privateKey"]);
    const bare = await provider.check!({ proxy: null }, { hostname: "app.example.com" });
    assert.ok(bare.failures!.some((f) => f.property === "proxy"), JSON.stringify(bare.failures));
    assert.doesNotThrow(() => registerCertificateSecrets(undefined));
  });
});
