// PreviewEnvironment under `pulumi.runtime.setMocks`: the children it registers for given
// arguments (types, fixed names, parent), what they are sent, and its outputs.
import * as assert from "assert";
import * as pulumi from "@pulumi/pulumi";
import { generateDeployKey } from "../../../provider/deploy/keyPair";
import { PreviewEnvironment, PreviewEnvironmentArgs, RUNNER_TOKEN_ENV } from "../../../src/preview";
import { readSweepTags } from "../../../src/sweep/tags";


/* eslint-disable @typescript-eslint/no-explicit-any */
interface Registered { type: string; name: string; inputs: Record<string, any> }

const SIG = "4dabf18193072939515e22adb298388d";
const settled = <T>(output: pulumi.Output<T>): Promise<T> => new Promise((resolve) => output.apply((v) => { resolve(v); return v; }));
const isSecret = (v: unknown) => !!v && typeof v === "object" && (v as any)[SIG] === "1b47061264138c4ac30d75fd1eb44270";
const plain = (v: any): any => (isSecret(v) ? plain(v.value) : v);
// eslint-disable-next-line @typescript-eslint/no-require-imports
const waitForRPCs: () => Promise<void> = require("@pulumi/pulumi/runtime/settings").waitForRPCs;

const proxy = { host: "198.51.100.7", user: "launchpad", hostKeyFingerprint: `SHA256:${"B".repeat(43)}`, privateKey: "-----BEGIN OPENSSH PRIVATE KEY-----\nproxy\n-----END OPENSSH PRIVATE KEY-----", tls: { certificate: "/etc/ssl/wild.crt", key: "/etc/ssl/wild.key" } };

describe("PreviewEnvironment (setMocks)", () => {
  let registered: Registered[];
  let nextPort: number;

  beforeEach(async () => {
    registered = [];
    nextPort = 2000;
    await pulumi.runtime.setMocks({
      newResource: (args) => {
        registered.push({ type: args.type, name: args.name, inputs: args.inputs });
        const inputs = args.inputs;
        let state: Record<string, any> = { ...inputs };
        if (args.type.endsWith("launchpad:Container")) state = { ...inputs, vmid: 123, node: "pve1", ipv4: "10.0.0.5", status: "running", kind: "system", initCommand: "/sbin/init" };
        if (args.type.endsWith("launchpad:ProxyRoute")) state = plain(inputs.http) ? { ...inputs, url: `https://${plain(inputs.http).hostname}` } : { ...inputs, port: nextPort++ };
        if (args.type.endsWith("launchpad:DeployKey")) state = { ...inputs, ...generateDeployKey("mock") };
        if (args.type.endsWith("launchpad:ContainerDeployment")) state = { ...inputs, deployedRevision: plain(inputs.revision) };
        return { id: `${args.name}-id`, state };
      },
      call: (args) => args.inputs,
    }, "launchpad-preview", "feature-x", false);
  });

  async function build(args: PreviewEnvironmentArgs) {
    const preview = new PreviewEnvironment("preview", args);
    const outputs = {
      url: await settled(preview.url), sshCommand: await settled(preview.sshCommand), ipv4: await settled(preview.ipv4),
      vmid: await settled(preview.vmid), node: await settled(preview.node), hostname: await settled(preview.hostname), ports: await settled(preview.ports),
    };
    await waitForRPCs();
    const byName = Object.fromEntries(registered.map((r) => [r.name, r]));
    return { preview, outputs, byName };
  }

  it("registers the container, every route, and nothing else for a plain OCI app", async () => {
    const { outputs, byName } = await build({
      branch: "feature/X", repository: "acme/shop", image: "ghcr.io/acme/shop:1", domain: "preview.example.com", proxy,
      memory: 1024, env: { PORT: "3000" }, services: { http: 3000, tcp: { postgres: 5432 }, ssh: true },
    });
    assert.deepStrictEqual(registered.map((r) => `${r.type} ${r.name}`).sort(), [
      "launchpad:index:PreviewEnvironment preview",
      "pulumi-nodejs:dynamic/launchpad:Container preview-container",
      "pulumi-nodejs:dynamic/launchpad:ProxyRoute preview-http",
      "pulumi-nodejs:dynamic/launchpad:ProxyRoute preview-ssh",
      "pulumi-nodejs:dynamic/launchpad:ProxyRoute preview-tcp-postgres",
    ]);
    const container = byName["preview-container"].inputs;
    assert.strictEqual(container.hostname, "acme-shop-feature-x");
    assert.strictEqual(container.image, "ghcr.io/acme/shop:1");
    assert.strictEqual(container.memory, 1024);
    assert.ok(isSecret(container.env), "env is sealed by the container class");
    assert.deepStrictEqual(plain(container.env), { PORT: "3000" });
    for (const key of ["services", "proxy", "domain", "branch", "repository"]) assert.ok(!(key in container), `${key} is not a container input`);

    const http = byName["preview-http"].inputs;
    assert.deepStrictEqual(plain(http.http), {
      hostname: "acme-shop-feature-x.preview.example.com", target: { host: "10.0.0.5", port: 3000 }, tls: proxy.tls,
    });
    assert.ok(isSecret(byName["preview-http"].inputs.proxy) || !("publicAddress" in plain(http.proxy)), "the route gets only the SSH part of the proxy settings");
    assert.ok(!("tls" in plain(http.proxy)) && !("publicAddress" in plain(http.proxy)));
    assert.deepStrictEqual(plain(byName["preview-ssh"].inputs.stream), {
      protocol: "tcp", target: { host: "10.0.0.5", port: 22 },
      // The route waits for sshd, and is refused for an application container: it learns the container's kind.
      ssh: { containerKind: "system", containerInitCommand: "/sbin/init" },
    });
    assert.deepStrictEqual(plain(byName["preview-tcp-postgres"].inputs.stream), { protocol: "tcp", target: { host: "10.0.0.5", port: 5432 } });

    assert.strictEqual(outputs.url, "https://acme-shop-feature-x.preview.example.com");
    assert.match(outputs.sshCommand!, /^ssh -p 20\d\d root@198\.51\.100\.7$/);
    assert.strictEqual(outputs.ipv4, "10.0.0.5");
    assert.strictEqual(outputs.vmid, 123);
    assert.strictEqual(outputs.node, "pve1");
    assert.deepStrictEqual(Object.keys(outputs.ports).sort(), ["postgres", "ssh"]);
  });

  it("tags the container with its stack, branch, renewal and expiry for the sweep, next to the user's tags", async () => {
    const before = Date.now();
    const { byName } = await build({ branch: "feature/X", repository: "acme/shop", image: "ghcr.io/acme/shop:1", tags: ["team-a"], ttl: "7d" });
    const tags: string[] = plain(byName["preview-container"].inputs.tags);
    const labels = readSweepTags(tags);
    assert.ok(tags.includes("team-a") && tags.includes("lp-stack-feature-x") && tags.includes("lp-branch-feature-x"), tags.join(" "));
    assert.strictEqual(labels.stack, "feature-x");
    assert.strictEqual(labels.branch, "feature-x");
    // Renewal is this hour rounded up, expiry seven days after it.
    assert.ok(labels.renewedAt!.getTime() >= before && labels.renewedAt!.getTime() - before <= 3_600_000, String(labels.renewedAt));
    assert.strictEqual(labels.expiresAt!.getTime() - labels.renewedAt!.getTime(), 7 * 86_400_000);
    for (const tag of tags) assert.match(tag, /^[a-z0-9_][a-z0-9_\-+.]*$/, "Proxmox's pve-tag format");
  });

  it("without a ttl: no renewal or expiry tag, so nothing changes from one up to the next", async () => {
    const { byName } = await build({ name: "fixed", image: "ghcr.io/acme/shop:1" });
    assert.deepStrictEqual(plain(byName["preview-container"].inputs.tags), ["lp-stack-feature-x"]);
  });

  it("refuses a ttl that is not a duration, naming the field", () => {
    assert.throws(() => new PreviewEnvironment("preview", { branch: "x", image: "ghcr.io/acme/shop:1", ttl: "1 week" }), /ttl: must be a duration/);
  });

  it("a bare container: one child, and sshCommand straight to its address", async () => {
    const { outputs } = await build({ name: "scratch", template: "local:vztmpl/debian-12-standard_12.7-1_amd64.tar.zst" });
    assert.deepStrictEqual(registered.map((r) => r.name).sort(), ["preview", "preview-container"]);
    assert.strictEqual(outputs.url, undefined);
    assert.strictEqual(outputs.sshCommand, "ssh root@10.0.0.5");
  });

  it("parents every child on the component (their URNs carry its type)", async () => {
    const { preview } = await build({ branch: "main", image: "nginx", domain: "d.example", proxy, services: { http: 80, ssh: true }, deploy: { commands: ["true"] } });
    const children = [preview.container, preview.routes.http, preview.routes.ssh, preview.deployment!];
    for (const child of children) {
      assert.match(await settled(child.urn), /::launchpad:index:PreviewEnvironment\$pulumi-nodejs:dynamic\/launchpad:\w+::preview-[a-z-]+$/);
    }
  });

  it("self-hosted DNS: a launchpad DnsRecord for <name>.<domain> -> the proxy's public address", async () => {
    const { byName } = await build({
      branch: "main", image: "nginx", domain: "preview.example.com", proxy: { ...proxy, publicAddress: "proxy.example.com" },
      dns: { kind: "self-hosted", zone: "example.com", ttl: 60, server: { kind: "powerdns", url: "https://pdns:8081", apiKey: "pdns-key" } },
    });
    const record = byName["preview-dns"];
    assert.strictEqual(record.type, "pulumi-nodejs:dynamic/launchpad:DnsRecord");
    assert.strictEqual(record.inputs.zone, "example.com");
    assert.strictEqual(record.inputs.name, "main.preview.example.com");
    assert.strictEqual(record.inputs.type, "CNAME");
    assert.deepStrictEqual(record.inputs.values, ["proxy.example.com"]);
    assert.ok(isSecret(record.inputs.server), "the DNS server (API key) travels as a secret");
  });

  it("Cloudflare DNS: @pulumi/cloudflare's own DnsRecord, not a rewrite", async () => {
    const { byName } = await build({ branch: "main", image: "nginx", domain: "preview.example.com", proxy, dns: { kind: "cloudflare", zoneId: "023e105f4ecef8ad9ca31a8372d0c353" } });
    const record = byName["preview-dns"];
    assert.strictEqual(record.type, "cloudflare:index/dnsRecord:DnsRecord");
    assert.deepStrictEqual(record.inputs, {
      zoneId: "023e105f4ecef8ad9ca31a8372d0c353", name: "main.preview.example.com", type: "A", content: "198.51.100.7",
      proxied: false, ttl: 300, comment: "pulumi-launchpad preview main",
    });
  });

  it("deploy: a generated key goes into sshPublicKeys; the deployment gets it (secret) and jumps through the proxy", async () => {
    const { byName } = await build({
      branch: "main", image: "nginx", proxy, sshPublicKeys: ["ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIBu0rRBL2yPx1RsUqNpmK2EJHLa7yRLOm8H6yq1JCzJv me"],
      deploy: { commands: ["make deploy"], revision: "abc123", env: { API_KEY: "env-secret" } },
    });
    const keys = byName["preview-container"].inputs.sshPublicKeys as string[];
    assert.strictEqual(keys.length, 2);
    assert.match(keys[1], /^ssh-ed25519 \S+ mock$/);
    const deployment = byName["preview-deploy"];
    assert.strictEqual(deployment.type, "pulumi-nodejs:dynamic/launchpad:ContainerDeployment");
    assert.ok(isSecret(deployment.inputs.privateKey), "privateKey is sent as a secret");
    assert.ok(isSecret(deployment.inputs.env), "env is sent as a secret");
    assert.deepStrictEqual(plain(deployment.inputs.env), { API_KEY: "env-secret" });
    assert.deepStrictEqual(deployment.inputs.commands, ["make deploy"]);
    assert.strictEqual(deployment.inputs.revision, "abc123");
    assert.strictEqual(deployment.inputs.host, "10.0.0.5");
    assert.strictEqual(deployment.inputs.vmid, 123);
    assert.deepStrictEqual(plain(deployment.inputs.jump), { host: proxy.host, user: proxy.user, privateKey: proxy.privateKey, hostKeyFingerprint: proxy.hostKeyFingerprint });
    assert.strictEqual(byName["preview-deploy-key"].type, "pulumi-nodejs:dynamic/launchpad:DeployKey");
  });

  it("deploy with a given key: its public key is derived and added; `address` overrides the target", async () => {
    const pair = generateDeployKey("given");
    const { byName } = await build({ branch: "main", image: "nginx", deploy: { commands: ["true"], privateKey: pulumi.secret(pair.privateKey), address: "127.0.0.1", port: 2222 } });
    assert.ok(!byName["preview-deploy-key"], "no key is generated");
    assert.deepStrictEqual(byName["preview-container"].inputs.sshPublicKeys, [`${pair.publicKey.split(" ").slice(0, 2).join(" ")} launchpad-main`]);
    assert.strictEqual(byName["preview-deploy"].inputs.host, "127.0.0.1");
    assert.strictEqual(byName["preview-deploy"].inputs.port, 2222);
    assert.strictEqual(byName["preview-deploy"].inputs.jump, undefined, "direct without a proxy");
  });

  it("githubRunner: registration commands after the user's, the token only in the secret env", async () => {
    const token = "AABBCCDDEEFF-registration-token";
    const { byName } = await build({
      branch: "feature/x", repository: "acme/shop", image: "nginx",
      deploy: { commands: ["npm ci"] }, githubRunner: { url: "https://github.com/acme/shop", token: pulumi.secret(token), labels: ["preview"] },
    });
    const deployment = byName["preview-deploy"].inputs;
    assert.strictEqual(deployment.commands[0], "npm ci");
    assert.strictEqual(deployment.commands.length, 4);
    assert.ok(deployment.commands.some((c: string) => c.includes("--ephemeral") && c.includes(`"$${RUNNER_TOKEN_ENV}"`) && c.includes("acme-shop-feature-x,preview")));
    assert.ok(!JSON.stringify(deployment.commands).includes(token), "the token is not in the commands");
    assert.ok(isSecret(deployment.env));
    assert.strictEqual(plain(deployment.env)[RUNNER_TOKEN_ENV], token);
  });

  it("owner: PVEVMUser on /vms/<vmid>", async () => {
    const { byName } = await build({ branch: "main", image: "nginx", owner: "alice@pve" });
    const owner = byName["preview-owner"];
    assert.strictEqual(owner.type, "pulumi-nodejs:dynamic/launchpad:Permission");
    assert.strictEqual(owner.inputs.path, "/vms/123");
    assert.strictEqual(owner.inputs.role, "PVEVMUser");
    assert.strictEqual(owner.inputs.user, "alice@pve");
  });

  it("rejects bad arguments before any child exists", async () => {
    assert.throws(
      () => new PreviewEnvironment("bad", { branch: "main", image: "nginx", clone: 9000, services: { http: 80 } }),
      (error: Error) => /clone: Only one of `image`, `template` and `clone` can be given/.test(error.message) && /domain: is required/.test(error.message),
    );
    await waitForRPCs();
    assert.deepStrictEqual(registered.filter((r) => r.name !== "bad").map((r) => r.name), [], "no child was registered");
  });
});
