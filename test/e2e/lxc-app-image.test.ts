// The root program (index.ts) with an APP image on the LXC-backed sandbox: a busybox httpd image from
// the local registry, pulled by the node, run as an application container. The URL answers through
// nginx; there is no SSH (the image has no sshd); PID 1 is the image's entrypoint; the address comes only
// from the node's dhclient on the host-managed NIC, which must survive the provider's net0 update.
import { strict as assert } from "assert";
import { execFileSync } from "child_process";
import { APP_IMAGE_PORT } from "../../devstack/images";
import { TestEngineRunner } from "../../devstack/engines";
import { PreviewStack, StackConfig, fakeRevision, startPreviewStack } from "../../devstack/preview-stack";
import { requireLxc } from "../support/lxc";

describe("e2e: an app image's preview on real LXC containers", function () {
  this.timeout(600_000);
  let stack: PreviewStack | undefined;
  let runner: TestEngineRunner | undefined;
  const progress: string[] = [];
  let outputs: Record<string, unknown> = {};

  before(async function () {
    requireLxc(this);
    stack = await startPreviewStack({ backend: "lxc", context: this, log: (line) => progress.push(line) });
    assert.equal(stack.backend, "lxc", progress.join("\n"));
    runner = new TestEngineRunner(stack, "feature-app-e2e", (line) => progress.push(line));
  });

  after(async function () {
    if (runner && stack && stack.sandbox.containers().length > 0) await runner.destroy().catch(() => undefined);
    await runner?.close();
    await stack?.close();
  });

  /** The app image serves HTTP on its own port and offers no SSH: no deploy step, no SSH route. */
  function appConfig(): StackConfig {
    const config = stack!.stackConfig({ branch: "feature/app-e2e", revision: fakeRevision(), image: stack!.images.app });
    config.config["preview:services"] = JSON.stringify({ http: APP_IMAGE_PORT });
    delete config.config["preview:deploy"];
    delete config.config["preview:revision"];
    return config;
  }

  it("up: the URL answers through nginx from the image's entrypoint; the config is PVE's app-container config", async () => {
    outputs = await runner!.up(appConfig());
    const [container] = stack!.sandbox.containers();
    assert.equal(stack!.sandbox.containers().length, 1);
    assert.match(String(container.config.entrypoint), /^\/bin\/busybox httpd -f -v -p 8080 -h \/www$/);
    assert.equal(container.config.cmode, "console");
    assert.match(String(container.config.net0), /host-managed=1/, "kept after the provider updated net0");
    assert.equal(container.config.ostype, "unmanaged");

    const page = await stack!.fetch(String(outputs.url));
    assert.equal(page.status, 200, page.body);
    assert.equal(page.body, "hello from the launchpad app image\n");

    const name = stack!.lxc!.containerName(container.vmid);
    const processes = execFileSync("lxc-attach", ["-P", stack!.lxc!.lxcPath, "-n", name, "--clear-env", "--", "/bin/ps"], { encoding: "utf8" });
    assert.match(processes.split("\n")[1], /^\s*1 +\S+ +\/bin\/busybox httpd/, processes);
    assert.doesNotMatch(processes, /sshd/);
    // The only DHCP client for it is the node's, in its network namespace.
    const dhclients = execFileSync("pgrep", ["-af", `${name}/hook/dhclient4-eth0`], { encoding: "utf8" });
    assert.match(dhclients, /\/sbin\/dhclient -1 -4/);
  });

  it("destroy leaves nothing", async () => {
    await runner!.destroy();
    assert.deepEqual(await stack!.leftovers(), { containers: 0, routes: 0, records: 0, challenges: 0, certificates: 0 });
  });
});
