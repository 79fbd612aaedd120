// A real third-party client, the `proxmox-api` npm package, against the sandbox: token and ticket
// auth, the sandbox's CA trusted through an injected undici Agent (no NODE_TLS_REJECT_UNAUTHORIZED),
// a container created through it and its task polled to the end.
import { strict as assert } from "assert";
import { proxmoxApi } from "proxmox-api";
import { Agent, fetch as undiciFetch } from "undici";
import { startSandbox, Sandbox } from "../../sandbox";
import { TEMPLATE } from "./helpers";

describe("proxmox-api (third-party client) against the sandbox", function () {
  this.timeout(30_000);
  let sandbox: Sandbox;
  let agent: Agent;

  before(async () => {
    sandbox = await startSandbox({ taskDurationsMs: { vzcreate: 100 } });
    agent = new Agent({ connect: { ca: sandbox.caCert } });
  });
  after(async () => {
    await agent?.close();
    await sandbox?.close();
  });

  const connection = () => {
    const url = new URL(sandbox.endpoint);
    const fetch = ((input: any, init: any) => undiciFetch(input, { ...init, dispatcher: agent })) as any;
    return { host: url.hostname, port: Number(url.port), fetch };
  };

  it("creates a container with an API token and polls its task to OK", async () => {
    const [tokenID, tokenSecret] = sandbox.apiToken.split("=");
    const pve = proxmoxApi({ ...connection(), tokenID, tokenSecret });
    const nodes = await pve.nodes.$get();
    assert.deepEqual(nodes.map((n) => n.node), ["pve1", "pve2", "pve3"]);

    const vmid = Number(await pve.cluster.nextid.$get());
    const upid = await pve.nodes.$("pve2").lxc.$post({
      vmid, ostemplate: TEMPLATE, hostname: "via-proxmox-api", memory: 256, rootfs: "local-lvm:4",
      net0: "name=eth0,bridge=vmbr0,ip=dhcp", unprivileged: true, start: true, tags: "Preview;CI",
    });
    assert.match(upid, /^UPID:pve2:.*:vzcreate:\d+:root@pam!launchpad:$/);

    let status: { status: string; exitstatus?: string };
    do {
      status = await pve.nodes.$("pve2").tasks.$(upid).status.$get();
      if (status.status === "running") await new Promise((resolve) => setTimeout(resolve, 20));
    } while (status.status === "running");
    assert.equal(status.exitstatus, "OK");

    const config = await pve.nodes.$("pve2").lxc.$(vmid).config.$get({});
    assert.equal(config.hostname, "via-proxmox-api");
    assert.equal(config.tags, "ci;preview");
    // start=1: PVE starts the CT in a vzstart task of its own once the create ends (PVE::API2::LXC create_vm).
    const [start] = await pve.nodes.$("pve2").tasks.$get({ vmid, typefilter: "vzstart", source: "all" });
    do {
      status = await pve.nodes.$("pve2").tasks.$(start.upid).status.$get();
      if (status.status === "running") await new Promise((resolve) => setTimeout(resolve, 20));
    } while (status.status === "running");
    assert.equal(status.exitstatus, "OK");
    assert.equal((await pve.nodes.$("pve2").lxc.$(vmid).status.current.$get()).status, "running");
    const posted = sandbox.requests.filter((entry) => entry.method === "POST" && entry.template === "/nodes/{node}/lxc");
    assert.equal(posted.length, 1, "proxmox-api sent the create once");
  });

  it("logs in with a password (ticket + CSRF) and surfaces 400 parameter errors", async () => {
    const pve = proxmoxApi({ ...connection(), username: sandbox.username, password: sandbox.password });
    await assert.rejects(
      pve.nodes.$("pve1").lxc.$post({ vmid: 4242, ostemplate: TEMPLATE, net0: "bogus" } as any),
      (error: Error) => /400 Parameter verification failed\./.test(error.message) && /"net0"/.test(error.message),
    );
    const version = await pve.version.$get();
    assert.equal(version.release, "9.1");
  });
});
