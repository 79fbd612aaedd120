// Stack config for a team-only preview with its own ACME certificate: passwords and the account key
// come from secret keys and stay secret Outputs; the JSON keys carry only names and settings.
import * as assert from "assert";
import * as pulumi from "@pulumi/pulumi";
import { previewArgsFromConfig } from "../../../src/preview";

const valueOf = <T>(output: pulumi.Output<T>) => new Promise<T>((resolve) => output.apply(resolve));

describe("previewArgsFromConfig with access passwords and an ACME account key", () => {
  after(() => pulumi.runtime.setAllConfig({}, []));

  it("fills basic-auth passwords and the account key from secret keys, as secrets", async () => {
    pulumi.runtime.setAllConfig({
      "access-test:services": JSON.stringify({ http: { port: 8080, access: { basicAuth: { users: [{ name: "alice" }] } } } }),
      "access-test:accessPasswords": JSON.stringify({ alice: "s3cret-pass" }),
      "access-test:proxy": JSON.stringify({ host: "proxy", user: "u", hostKeyFingerprint: "x", tls: "acme", acme: { directoryUrl: "https://acme/dir", email: "ops@example.com" } }),
      "access-test:acmeAccountKey": "-----BEGIN PRIVATE KEY-----\nx\n-----END PRIVATE KEY-----",
    }, ["access-test:accessPasswords", "access-test:acmeAccountKey"]);
    const args = previewArgsFromConfig("access-test");
    const http = args.services!.http as unknown as { access: { basicAuth: { users: { name: string; password: pulumi.Output<string> }[] } } };
    const [user] = http.access.basicAuth.users;
    assert.strictEqual(user.name, "alice");
    assert.strictEqual(await valueOf(user.password), "s3cret-pass");
    assert.strictEqual(await pulumi.isSecret(user.password), true);
    const accountKey = args.proxy!.acme!.accountKey as pulumi.Output<string>;
    assert.strictEqual(await pulumi.isSecret(accountKey), true);
    assert.strictEqual(args.proxy!.tls, "acme");
  });
});
