// The Cloudflare pattern: `@pulumi/cloudflare`'s own DnsRecord for a public name, beside a
// launchpad DnsRecord for the internal one, in one program under `pulumi.runtime.setMocks`.
import * as assert from "assert";
import * as cloudflare from "@pulumi/cloudflare";
import * as pulumi from "@pulumi/pulumi";
import { publicDnsRecordArgs, recordTypeFor } from "../../../src/cloudflare";
import { DnsRecord } from "../../../src/dnsRecord";

interface Registered { type: string; name: string; inputs: Record<string, any> } // eslint-disable-line @typescript-eslint/no-explicit-any

const settled = <T>(output: pulumi.Output<T>): Promise<T> => new Promise((resolve) => output.apply((v) => { resolve(v); return v; }));

describe("Cloudflare pattern (setMocks)", () => {
  let registered: Registered[];

  before(async () => {
    registered = [];
    await pulumi.runtime.setMocks({
      newResource: (args) => {
        registered.push({ type: args.type, name: args.name, inputs: args.inputs });
        const outputs = args.type.startsWith("pulumi-nodejs:dynamic") ? { ...args.inputs, fqdn: `${args.inputs.name}.${args.inputs.zone}` } : args.inputs;
        return { id: `${args.name}-id`, state: outputs };
      },
      call: (args) => args.inputs,
    }, "launchpad-dns", "pr-12", false);
  });

  it("sends cloudflare.DnsRecord the public name, and DnsRecord the internal one", async () => {
    const apiKey = "pdns-api-key-never-in-text";
    const internal = new DnsRecord("internal", {
      zone: "preview.internal", name: "pr-12", type: "A", values: ["10.0.0.12"],
      server: { kind: "powerdns", url: "https://pdns.internal:8081", apiKey: pulumi.secret(apiKey) },
    });
    const proxied = new cloudflare.DnsRecord("public", publicDnsRecordArgs({
      zoneId: "023e105f4ecef8ad9ca31a8372d0c353", hostname: "pr-12.preview.example.com", target: "proxy.example.com.", proxied: true, comment: "branch pr-12",
    }), { dependsOn: [internal] });
    const direct = new cloudflare.DnsRecord("public-v6", publicDnsRecordArgs({
      zoneId: "023e105f4ecef8ad9ca31a8372d0c353", hostname: "pr-12-v6.preview.example.com", target: "2001:db8::12",
    }));
    await Promise.all([settled(internal.fqdn), settled(proxied.id), settled(direct.id)]);

    const byName = Object.fromEntries(registered.map((r) => [r.name, r]));
    assert.strictEqual(byName.public.type, "cloudflare:index/dnsRecord:DnsRecord");
    assert.deepStrictEqual(byName.public.inputs, {
      zoneId: "023e105f4ecef8ad9ca31a8372d0c353", name: "pr-12.preview.example.com", type: "CNAME",
      content: "proxy.example.com", proxied: true, ttl: 1, comment: "branch pr-12",
    });
    assert.deepStrictEqual(byName["public-v6"].inputs, {
      zoneId: "023e105f4ecef8ad9ca31a8372d0c353", name: "pr-12-v6.preview.example.com", type: "AAAA",
      content: "2001:db8::12", proxied: false, ttl: 300,
    });

    assert.strictEqual(byName.internal.type, "pulumi-nodejs:dynamic/launchpad:DnsRecord");
    const { __provider: providerText, ...inputs } = byName.internal.inputs;
    assert.deepStrictEqual(inputs, {
      zone: "preview.internal", name: "pr-12", type: "A", values: ["10.0.0.12"],
      // The whole server block travels as a secret (Pulumi's secret signature), so state encrypts it.
      server: { "4dabf18193072939515e22adb298388d": "1b47061264138c4ac30d75fd1eb44270", value: { kind: "powerdns", url: "https://pdns.internal:8081", apiKey } },
    });
    assert.match(providerText, /pulumi-launchpad\/provider\//);
    assert.ok(!providerText.includes(apiKey), "the serialized provider holds no credentials");
    assert.strictEqual(await settled(internal.fqdn), "pr-12.preview.internal");
  });

  it("picks the record type from the target", () => {
    assert.deepStrictEqual(["192.0.2.1", "2001:db8::1", "lb.example.com"].map(recordTypeFor), ["A", "AAAA", "CNAME"]);
  });
});
