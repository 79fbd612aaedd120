// The sandbox's API layer on the real LXC backend: what a client creates over HTTP is a real
// container, and `/interfaces` shows the address it really has.
import { strict as assert } from "assert";
import { execFileSync } from "child_process";
import * as https from "https";
import { Sandbox, startSandbox } from "../../sandbox";
import { DEFAULT_LXC_PATH } from "../../sandbox/lxc";
import { addressOf, generateTestKey, requireLxc, sshExec, waitForSsh } from "../support/lxc";

interface Reply { status: number; data: any }

function api(sandbox: Sandbox, method: string, apiPath: string, form?: Record<string, string>): Promise<Reply> {
  const body = form ? new URLSearchParams(form).toString() : undefined;
  const url = new URL(`/api2/json${apiPath}`, sandbox.endpoint);
  return new Promise((resolve, reject) => {
    const request = https.request(url, {
      method, ca: sandbox.caCert,
      headers: {
        Authorization: `PVEAPIToken=${sandbox.apiToken}`,
        ...(body ? { "Content-Type": "application/x-www-form-urlencoded", "Content-Length": Buffer.byteLength(body) } : {}),
      },
    }, (response) => {
      let text = "";
      response.setEncoding("utf8").on("data", (chunk: string) => (text += chunk));
      response.on("end", () => resolve({ status: response.statusCode ?? 0, data: text ? (JSON.parse(text).data ?? { message: response.statusMessage, ...JSON.parse(text) }) : undefined }));
    });
    request.on("error", reject);
    request.end(body);
  });
}

async function waitTask(sandbox: Sandbox, node: string, upid: string): Promise<void> {
  for (;;) {
    const reply = await api(sandbox, "GET", `/nodes/${node}/tasks/${encodeURIComponent(upid)}/status`);
    if (reply.data?.status === "stopped") {
      assert.equal(reply.data.exitstatus, "OK", `task ${upid}`);
      return;
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

function lxcNames(lxcPath: string): string[] {
  return execFileSync("lxc-ls", ["-P", lxcPath, "-1"], { encoding: "utf8" }).split(/\s+/).filter(Boolean);
}

describe("sandbox API on the LXC backend", function () {
  this.timeout(120_000);
  let sandbox: Sandbox | undefined;
  const node = "pve1";
  const vmid = 7000 + Math.floor(Math.random() * 2000);
  // startSandbox({backend: "lxc"}) uses the backend's default lxcPath.
  const lxcPath = DEFAULT_LXC_PATH;

  before(function () {
    requireLxc(this);
  });

  after(async function () {
    await sandbox?.close();
  });

  it("creates a real container over HTTP, reports its address in /interfaces, lands SSH in it, and deletes it", async function () {
    sandbox = await startSandbox({ backend: "lxc" });
    assert.equal(sandbox.backendKind, "lxc");
    const key = generateTestKey();
    const before = new Set(lxcNames(lxcPath));

    const created = await api(sandbox, "POST", `/nodes/${node}/lxc`, {
      vmid: String(vmid), ostemplate: "local:vztmpl/debian-12-standard_12.7-1_amd64.tar.zst",
      storage: "local-lvm", hostname: "api-made", memory: "256", cores: "1", net0: "name=eth0,bridge=vmbr0,ip=dhcp",
      "ssh-public-keys": key.publicKey, start: "1",
    });
    assert.equal(created.status, 200, JSON.stringify(created.data));
    await waitTask(sandbox, node, created.data);
    const made = lxcNames(lxcPath).filter((name) => !before.has(name) && name.endsWith(`-${vmid}`));
    assert.equal(made.length, 1, `one new LXC container for ${vmid}: ${made.join(", ")}`);

    const interfaces = await api(sandbox, "GET", `/nodes/${node}/lxc/${vmid}/interfaces`);
    assert.equal(interfaces.status, 200);
    const eth0 = (interfaces.data as Array<{ name: string; inet?: string }>).find((entry) => entry.name === "eth0");
    assert.ok(eth0?.inet, JSON.stringify(interfaces.data));
    const address = addressOf(eth0.inet);
    await waitForSsh(address, key.privateKey);
    assert.equal((await sshExec(address, key.privateKey, "hostname")).stdout.trim(), "api-made");

    const stopped = await api(sandbox, "POST", `/nodes/${node}/lxc/${vmid}/status/stop`);
    await waitTask(sandbox, node, stopped.data);
    assert.equal(execFileSync("lxc-info", ["-P", lxcPath, "-n", made[0], "-sH"], { encoding: "utf8" }).trim(), "STOPPED");
    const destroyed = await api(sandbox, "DELETE", `/nodes/${node}/lxc/${vmid}`);
    await waitTask(sandbox, node, destroyed.data);
    assert.ok(!lxcNames(lxcPath).includes(made[0]), "the LXC container is gone");
  });
  it("reports a container whose entrypoint exited as stopped, as LXC does, and starts it again", async function () {
    const own = await startSandbox({ backend: "lxc" });
    try {
      assert.equal(own.backendKind, "lxc");
      const id = vmid + 1;
      const created = await api(own, "POST", `/nodes/${node}/lxc`, {
        vmid: String(id), ostemplate: "local:vztmpl/debian-12-standard_12.7-1_amd64.tar.zst", storage: "local-lvm",
        hostname: "short-lived", memory: "128", net0: "name=eth0,bridge=vmbr0,ip=dhcp", entrypoint: "sleep 2", start: "1",
      });
      assert.equal(created.status, 200, JSON.stringify(created.data));
      await waitTask(own, node, created.data);
      const status = async () => (await api(own, "GET", `/nodes/${node}/lxc/${id}/status/current`)).data.status as string;
      // The entrypoint ends after 2 s; LXC stops the container with it. Wait for that, bounded.
      const deadline = Date.now() + 60_000;
      let seen = await status();
      while (seen === "running" && Date.now() < deadline) {
        await new Promise((resolve) => setTimeout(resolve, 250));
        seen = await status();
      }
      assert.equal(seen, "stopped", "status/current follows the container, not the last start task");
      const resource = (await api(own, "GET", "/cluster/resources?type=vm")).data.find((entry: { vmid: number }) => entry.vmid === id);
      assert.equal(resource.status, "stopped");
      const stop = await api(own, "POST", `/nodes/${node}/lxc/${id}/status/stop`);
      assert.equal(stop.status, 500);
      assert.equal(stop.data.message, `CT ${id} not running\n`);
      const started = await api(own, "POST", `/nodes/${node}/lxc/${id}/status/start`);
      assert.equal(started.status, 200, JSON.stringify(started.data));
      await waitTask(own, node, started.data);
    } finally {
      await own.close();
    }
  });
});
