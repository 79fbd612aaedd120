// Asking for SSH on an application container: a PreviewEnvironment with an app image (its
// entrypoint is the app: no init, no sshd), a deploy step and an SSH port. The `up` fails before
// any SSH or route file, naming the fields, the image's entrypoint and what to do instead; the
// container stays tracked in state and `destroy` removes it (memory sandbox, real nginx over OpenSSH).
import { strict as assert } from "assert";
import * as pulumi from "@pulumi/pulumi";
import { PreviewEnvironment, type PreviewProxyArgs } from "../../src/preview";
import { EngineError } from "../../devstack/engine";
import { DOMAIN, newEngine, proxyConfig, routeFiles, startWorld, stopWorld, type World } from "../../devstack/world";

const APP_IMAGE = "registry.launchpad.test/acme/api:7";
const APP_ENTRYPOINT = "/usr/local/bin/api --port 8080";

describe("e2e: deploy and SSH on an application container are refused, nothing orphaned (memory sandbox)", function () {
  this.timeout(300_000);
  let world: World | undefined;

  before(async function () {
    world = await startWorld(this, "memory", { ociImages: { [APP_IMAGE]: { digest: `sha256:${"cd".repeat(32)}`, entrypoint: APP_ENTRYPOINT } } });
  });
  after(async () => {
    await stopWorld(world);
  });

  it("up fails on deploy and services.ssh with the entrypoint named; the container is tracked; destroy leaves nothing", async () => {
    const w = world!;
    const engine = newEngine(w, { project: "launchpad-app-refusal", stack: "feature-api" });
    const program = () => {
      const preview = new PreviewEnvironment("preview", {
        name: "acme-api-feature", image: APP_IMAGE, domain: DOMAIN,
        services: { http: 8080, ssh: true },
        proxy: { ...(proxyConfig(w) as unknown as PreviewProxyArgs), privateKey: pulumi.secret(w.proxySshd.privateKey) },
        deploy: { commands: ["make deploy"], via: "proxy" },
      });
      return { kind: preview.container.kind };
    };
    w.sandbox.resetRequests();
    const error = await engine.up(program).then(() => undefined, (e: unknown) => e);
    assert.ok(error instanceof EngineError, `the up fails: ${error}`);

    const deploy = error.failures.find((f) => f.urn.endsWith("::preview-deploy"));
    assert.deepEqual(deploy?.checkFailures?.map((f) => f.property), ["containerKind"], JSON.stringify(error.failures));
    assert.match(deploy!.message, new RegExp(`\`deploy\` runs its commands over SSH .* application container: its image's entrypoint \`${APP_ENTRYPOINT}\``));
    assert.match(deploy!.message, /system image .* or bake the code into the image/);
    const ssh = error.failures.find((f) => f.urn.endsWith("::preview-ssh"));
    assert.deepEqual(ssh?.checkFailures?.map((f) => f.property), ["stream.ssh.containerKind"]);
    assert.match(ssh!.message, new RegExp(`\`services\\.ssh\`.*\`${APP_ENTRYPOINT}\``));

    // The container exists and is tracked; no SSH was tried and no SSH route file was written.
    const container = engine.resource("preview-container");
    assert.ok(container?.id, "the container is in state");
    assert.equal(container.plainOutputs.kind, "application");
    assert.equal(container.plainOutputs.initCommand, APP_ENTRYPOINT);
    assert.deepEqual(w.sandbox.containers().map((c) => c.vmid), [Number(container.plainOutputs.vmid)]);
    assert.match(String(w.sandbox.containers()[0].config.net0), /host-managed=1/, "PVE's host-managed survived the provider's config PUT");
    assert.deepEqual(routeFiles(w).stream, [], "no SSH route file");
    assert.ok(!engine.hostLogs.some((line) => /\[deploy /.test(line)), "the deploy step never connected");

    await engine.destroy();
    assert.deepEqual(w.sandbox.containers(), []);
    assert.deepEqual(routeFiles(w), { http: [], stream: [] });
  });
});
