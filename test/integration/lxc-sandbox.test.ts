// The sandbox's API layer on the real LXC backend, as a node: what a client creates over HTTP is a
// real container holding only its template's or image's content; images come from a local registry
// through a real oci-registry-pull; `/interfaces` shows the address the kernel really holds.
import { strict as assert } from "assert";
import { execFileSync, spawnSync } from "child_process";
import * as fs from "fs";
import * as https from "https";
import { Sandbox, startSandbox } from "../../sandbox";
import { appImage, APP_IMAGE_PORT, systemImage } from "../../devstack/images";
import { Registry, startRegistry } from "../../devstack/registry";
import { DEFAULT_LXC_PATH } from "../../sandbox/lxc";
import { addressOf, generateTestKey, httpGet, requireLxc, sshExec, waitForSsh } from "../support/lxc";

interface Reply { status: number; data: any }

function api(sandbox: Sandbox, method: string, apiPath: string, form?: Record<string, string>): Promise<Reply> {
  const body = form ? new URLSearchParams(form).toString() : undefined;
  const url = new URL(`/api2/json${apiPath}`, sandbox.endpoint);
  return new Promise((resolve, reject) => {
    // A new connection per request: the sandbox, like pveproxy, closes a kept-alive connection after 5 s idle,
    // and Node's global agent (keep-alive) can write into one that is closing (ECONNRESET on a loaded machine).
    const request = https.request(url, {
      method, ca: sandbox.caCert, agent: false,
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

async function waitTask(sandbox: Sandbox, node: string, upid: string, expected: string | RegExp = "OK"): Promise<string[]> {
  for (;;) {
    const reply = await api(sandbox, "GET", `/nodes/${node}/tasks/${encodeURIComponent(upid)}/status`);
    if (reply.data?.status === "stopped") {
      const log = (await api(sandbox, "GET", `/nodes/${node}/tasks/${encodeURIComponent(upid)}/log`)).data as Array<{ t: string }>;
      const why = `task ${upid}: ${log.map((line) => line.t).join("\n")}`;
      if (typeof expected === "string") assert.equal(reply.data.exitstatus, expected, why);
      else assert.match(reply.data.exitstatus, expected, why);
      return log.map((line) => line.t);
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** The container's own DHCP client (or the node's, for host-managed NICs) answers a moment after start: poll /interfaces, bounded. */
async function waitForAddress(sandbox: Sandbox, node: string, vmid: number, timeoutMs = 60_000): Promise<string> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const reply = await api(sandbox, "GET", `/nodes/${node}/lxc/${vmid}/interfaces`);
    // With start=1 the start is its own vzstart task after the create (API2/LXC.pm create_vm): until it
    // runs, the CT answers no interface list.
    const list = Array.isArray(reply.data) ? (reply.data as Array<{ name: string; inet?: string }>) : [];
    const eth0 = list.find((entry) => entry.name === "eth0");
    if (eth0?.inet) return addressOf(eth0.inet);
    if (Date.now() > deadline) throw new Error(`CT ${vmid} got no IPv4 on eth0 within ${timeoutMs} ms: ${JSON.stringify(reply.data)}`);
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}

/** lxc-attach into the container with only its own environment and binaries. */
function attach(name: string, ...command: string[]): string {
  return execFileSync("lxc-attach", ["-P", DEFAULT_LXC_PATH, "-n", name, "--clear-env", "--", ...command], { encoding: "utf8" });
}

/** PVE's volid of a pulled reference: normalize_content_filename keeps what follows the last `/`. */
function pulledVolid(reference: string): string {
  return `local:vztmpl/${reference.replace(/^.*\//, "").replace(/[^a-zA-Z0-9_.-]/g, "_")}.tar`;
}

function lxcNames(lxcPath: string): string[] {
  return execFileSync("lxc-ls", ["-P", lxcPath, "-1"], { encoding: "utf8" }).split(/\s+/).filter(Boolean);
}

describe("sandbox API on the LXC backend", function () {
  this.timeout(600_000);
  let sandbox: Sandbox | undefined;
  let registry: Registry | undefined;
  const node = "pve1";
  const vmid = 7000 + Math.floor(Math.random() * 2000);
  // startSandbox({backend: "lxc"}) uses the backend's default lxcPath.
  const lxcPath = DEFAULT_LXC_PATH;
  const key = generateTestKey();
  const nameOf = (id: number) => lxcNames(lxcPath).find((name) => name.startsWith(`lpsb`) && name.endsWith(`-${id}`))!;

  before(async function () {
    requireLxc(this);
    // Builds once per machine (cached under /var/cache/pulumi-launchpad), then only pushes.
    const [app, system] = [await appImage(), await systemImage()];
    registry = await startRegistry({ auth: { username: "ci", password: "registry-secret" } });
    await registry.push(app);
    await registry.push(system);
    sandbox = await startSandbox({ backend: "lxc", registryTrust: { certDir: registry.certDir, authFile: registry.authFile } });
    assert.equal(sandbox.backendKind, "lxc");
  });

  after(async function () {
    await sandbox?.close();
    await registry?.stop();
  });

  it("creates a system container from the standard template: its own init and dhclient, setup written, SSH with the given key", async function () {
    const before = new Set(lxcNames(lxcPath));
    const created = await api(sandbox!, "POST", `/nodes/${node}/lxc`, {
      vmid: String(vmid), ostemplate: "local:vztmpl/debian-12-standard_12.7-1_amd64.tar.zst",
      storage: "local-lvm", hostname: "api-made", memory: "256", cores: "1", net0: "name=eth0,bridge=vmbr0,ip=dhcp",
      "ssh-public-keys": key.publicKey, start: "1",
    });
    assert.equal(created.status, 200, JSON.stringify(created.data));
    await waitTask(sandbox!, node, created.data);
    const made = lxcNames(lxcPath).filter((name) => !before.has(name) && name.endsWith(`-${vmid}`));
    assert.equal(made.length, 1, `one new LXC container for ${vmid}: ${made.join(", ")}`);
    const config = (await api(sandbox!, "GET", `/nodes/${node}/lxc/${vmid}/config`)).data;
    assert.equal(config.ostype, "debian");
    assert.equal(config.entrypoint, undefined);
    assert.doesNotMatch(config.net0, /host-managed/);

    const address = await waitForAddress(sandbox!, node, vmid);
    await waitForSsh(address, key.privateKey, 60_000);
    assert.equal((await sshExec(address, key.privateKey, "hostname")).stdout.trim(), "api-made");
    const inside = (await sshExec(address, key.privateKey, "cat /proc/1/comm; grep -c 'iface eth0 inet dhcp' /etc/network/interfaces; ls /etc/ssh/ssh_host_ed25519_key")).stdout.split("\n");
    assert.deepEqual(inside.slice(0, 3), ["init", "1", "/etc/ssh/ssh_host_ed25519_key"]);
    const lxcConfig = fs.readFileSync(`${lxcPath}/${made[0]}/config`, "utf8");
    assert.doesNotMatch(lxcConfig, /lxc\.mount\.entry|lxc\.init\.cmd|ipv4\.address/, "nothing of the host mounted, the image's own init, no address from the node");
  });

  it("clones the stopped system container: a copy of its rootfs, its own hostname, SSH with the source's keys", async function () {
    const stopped = await api(sandbox!, "POST", `/nodes/${node}/lxc/${vmid}/status/stop`);
    await waitTask(sandbox!, node, stopped.data);
    assert.equal(execFileSync("lxc-info", ["-P", lxcPath, "-n", nameOf(vmid), "-sH"], { encoding: "utf8" }).trim(), "STOPPED");
    const cloneId = vmid + 10;
    const cloned = await api(sandbox!, "POST", `/nodes/${node}/lxc/${vmid}/clone`, { newid: String(cloneId), hostname: "the-clone", storage: "local-lvm" });
    assert.equal(cloned.status, 200, JSON.stringify(cloned.data));
    await waitTask(sandbox!, node, cloned.data);
    const started = await api(sandbox!, "POST", `/nodes/${node}/lxc/${cloneId}/status/start`);
    await waitTask(sandbox!, node, started.data);
    const address = await waitForAddress(sandbox!, node, cloneId);
    await waitForSsh(address, key.privateKey, 60_000);
    assert.equal((await sshExec(address, key.privateKey, "hostname")).stdout.trim(), "the-clone");
    for (const id of [cloneId, vmid]) {
      const destroyed = await api(sandbox!, "DELETE", `/nodes/${node}/lxc/${id}?force=1`);
      await waitTask(sandbox!, node, destroyed.data);
    }
    assert.ok(!lxcNames(lxcPath).some((name) => name.endsWith(`-${vmid}`) || name.endsWith(`-${cloneId}`)), "both LXC containers are gone");
  });

  it("pulls the app image with skopeo as PVE does: task type, volid listing, refusal to overwrite, failure as exitstatus", async function () {
    const reference = `${registry!.host}/launchpad-app:${(await appImage()).tag}`;
    const pulled = await api(sandbox!, "POST", `/nodes/${node}/storage/local/oci-registry-pull`, { reference });
    assert.equal(pulled.status, 200, JSON.stringify(pulled.data));
    assert.match(pulled.data, /:ociregistrypull:launchpad-app_r1-[\w.-]+\.tar:/);
    const log = await waitTask(sandbox!, node, pulled.data);
    assert.ok(log.includes("Writing manifest to image destination"), log.join("\n"));
    const content = (await api(sandbox!, "GET", `/nodes/${node}/storage/local/content?content=vztmpl`)).data as Array<{ volid: string; format: string }>;
    assert.ok(content.some((entry) => entry.volid === pulledVolid(reference) && entry.format === "tar"), JSON.stringify(content));
    const again = await api(sandbox!, "POST", `/nodes/${node}/storage/local/oci-registry-pull`, { reference });
    assert.equal(again.status, 500);
    assert.match(again.data.message, /^refusing to override existing file 'launchpad-app_r1-/);
    const missing = await api(sandbox!, "POST", `/nodes/${node}/storage/local/oci-registry-pull`, { reference: `${registry!.host}/launchpad-none:v1` });
    const failed = await waitTask(sandbox!, node, missing.data, /^command 'skopeo copy docker:\/\/127\.0\.0\.1:\d+\/launchpad-none:v1 oci-archive:\S+' failed: exit code 1$/);
    assert.match(failed.join("\n"), /manifest unknown/, "skopeo's own reason is in the task log");
  });

  it("runs the app image as an application container: entrypoint as PID 1, no sshd, host-managed DHCP only, HTTP answers", async function () {
    const id = vmid + 20;
    const reference = `${registry!.host}/launchpad-app:${(await appImage()).tag}`;
    const created = await api(sandbox!, "POST", `/nodes/${node}/lxc`, {
      vmid: String(id), ostemplate: pulledVolid(reference), storage: "local-lvm", hostname: "app-made",
      net0: "name=eth0,bridge=vmbr0,ip=dhcp", "ssh-public-keys": key.publicKey,
    });
    const log = await waitTask(sandbox!, node, created.data);
    assert.ok(log.includes("Auto-Enabling host-managed network for network device net0."), log.join("\n"));
    const config = (await api(sandbox!, "GET", `/nodes/${node}/lxc/${id}/config`)).data;
    assert.equal(config.entrypoint, `/bin/busybox httpd -f -v -p ${APP_IMAGE_PORT} -h /www`);
    assert.equal(config.cmode, "console");
    assert.equal(config.ostype, "unmanaged");
    assert.match(config.net0, /host-managed=1/);
    assert.equal(config.env, "PATH=/bin\0APP_FLAVOUR=busybox");
    assert.deepEqual(config.lxc, [["lxc.init.cwd", "/www"], ["lxc.signal.halt", "SIGKILL"]], "WorkingDir and the image's StopSignal");
    assert.ok(!fs.existsSync(`${lxcPath}/${nameOf(id)}/rootfs/root/.ssh`), "unmanaged: no setup written, keys included");

    // Without host-managed the node leaves the NIC alone: the image has no DHCP client, so no address.
    await api(sandbox!, "PUT", `/nodes/${node}/lxc/${id}/config`, { net0: config.net0.replace("host-managed=1,", "") });
    let started = await api(sandbox!, "POST", `/nodes/${node}/lxc/${id}/status/start`);
    await waitTask(sandbox!, node, started.data);
    await new Promise((resolve) => setTimeout(resolve, 3_000));
    const bare = (await api(sandbox!, "GET", `/nodes/${node}/lxc/${id}/interfaces`)).data as Array<{ name: string; inet?: string }>;
    assert.equal(bare.find((entry) => entry.name === "eth0")?.inet, undefined, JSON.stringify(bare));
    let stopped = await api(sandbox!, "POST", `/nodes/${node}/lxc/${id}/status/stop`);
    await waitTask(sandbox!, node, stopped.data);

    await api(sandbox!, "PUT", `/nodes/${node}/lxc/${id}/config`, { net0: config.net0 });
    started = await api(sandbox!, "POST", `/nodes/${node}/lxc/${id}/status/start`);
    await waitTask(sandbox!, node, started.data);
    const address = await waitForAddress(sandbox!, node, id);
    const processes = attach(nameOf(id), "/bin/ps");
    const lines = processes.trim().split("\n").slice(1).map((line) => line.trim());
    assert.match(lines[0], new RegExp(`^1 +\\S+ +/bin/busybox httpd -f -v -p ${APP_IMAGE_PORT} -h /www$`), processes);
    assert.doesNotMatch(processes, /sshd/);
    assert.ok(!fs.existsSync(`${lxcPath}/${nameOf(id)}/rootfs/usr/sbin/sshd`), "no sshd in the image");
    assert.equal((await httpGet(address, APP_IMAGE_PORT)).body, "hello from the launchpad app image\n");
    // A clean shutdown, without forceStop: the halt signal is the image's StopSignal, which PID 1 cannot ignore.
    stopped = await api(sandbox!, "POST", `/nodes/${node}/lxc/${id}/status/shutdown`, { timeout: "30" });
    await waitTask(sandbox!, node, stopped.data);
    assert.equal(spawnSync("pgrep", ["-f", `${nameOf(id)}/hook/dhclient4-eth0`], { encoding: "utf8" }).stdout.trim(), "", "the node's dhclient ended with the container");
  });

  it("boots the system image pulled from the registry: /sbin/init, sshd, its own DHCP client, keys from ssh-public-keys", async function () {
    const id = vmid + 30;
    const reference = `${registry!.host}/launchpad-system:${(await systemImage()).tag}`;
    const pulled = await api(sandbox!, "POST", `/nodes/${node}/storage/local/oci-registry-pull`, { reference });
    await waitTask(sandbox!, node, pulled.data);
    const created = await api(sandbox!, "POST", `/nodes/${node}/lxc`, {
      vmid: String(id), ostemplate: pulledVolid(reference), storage: "local-lvm", hostname: "system-made",
      net0: "name=eth0,bridge=vmbr0,ip=dhcp", "ssh-public-keys": key.publicKey, start: "1",
    });
    await waitTask(sandbox!, node, created.data);
    const config = (await api(sandbox!, "GET", `/nodes/${node}/lxc/${id}/config`)).data;
    assert.equal(config.entrypoint, undefined, "Cmd /sbin/init: a system container");
    assert.equal(config.cmode, undefined);
    assert.doesNotMatch(config.net0, /host-managed/);
    assert.equal(config.ostype, "debian");
    const address = await waitForAddress(sandbox!, node, id);
    await waitForSsh(address, key.privateKey, 60_000);
    const answer = await sshExec(address, key.privateKey, "hostname; cat /proc/1/comm; node -e 'console.log(1+1)'");
    assert.deepEqual(answer.stdout.trim().split("\n"), ["system-made", "init", "2"]);
  });

  it("reports a container whose entrypoint exited as stopped, as LXC does, and starts it again", async function () {
    const id = vmid + 40;
    const created = await api(sandbox!, "POST", `/nodes/${node}/lxc`, {
      vmid: String(id), ostemplate: "local:vztmpl/debian-12-standard_12.7-1_amd64.tar.zst", storage: "local-lvm",
      hostname: "short-lived", memory: "128", net0: "name=eth0,bridge=vmbr0,ip=dhcp", entrypoint: "sleep 2", start: "1",
    });
    assert.equal(created.status, 200, JSON.stringify(created.data));
    await waitTask(sandbox!, node, created.data);
    // start=1 forks a vzstart task of its own as the create ends (create_vm): until it ran, "stopped" is only
    // the moment before the start. Wait for it too (bounded).
    let startUpid: string | undefined;
    for (const until = Date.now() + 30_000; !startUpid && Date.now() < until;) {
      const list = (await api(sandbox!, "GET", `/nodes/${node}/tasks?vmid=${id}&typefilter=vzstart`)).data as Array<{ upid: string }>;
      startUpid = list[0]?.upid;
      if (!startUpid) await new Promise((resolve) => setTimeout(resolve, 100));
    }
    assert.ok(startUpid, "the create's own vzstart task");
    await waitTask(sandbox!, node, startUpid);
    const status = async () => (await api(sandbox!, "GET", `/nodes/${node}/lxc/${id}/status/current`)).data.status as string;
    // The entrypoint ends after 2 s; LXC stops the container with it. Wait for that, bounded.
    const deadline = Date.now() + 60_000;
    let seen = await status();
    while (seen === "running" && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 250));
      seen = await status();
    }
    assert.equal(seen, "stopped", "status/current follows the container, not the last start task");
    const stop = await api(sandbox!, "POST", `/nodes/${node}/lxc/${id}/status/stop`);
    assert.equal(stop.status, 500);
    assert.equal(stop.data.message, `CT ${id} not running\n`);
    const started = await api(sandbox!, "POST", `/nodes/${node}/lxc/${id}/status/start`);
    assert.equal(started.status, 200, JSON.stringify(started.data));
    await waitTask(sandbox!, node, started.data);
  });
});
