import { strict as assert } from "assert";
import { execFileSync, spawn, spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { BackendContainerSpec } from "../../sandbox/backend";
import { createLxcBackend, lxcAvailability, LxcBackend } from "../../sandbox/lxc";
import { addressOf, generateTestKey, httpGet, requireLxc, sshExec, TestKeyPair, waitForSsh } from "../support/lxc";

function lxcNames(lxcPath: string): string[] {
  return execFileSync("lxc-ls", ["-P", lxcPath, "-1"], { encoding: "utf8" }).split(/\s+/).filter(Boolean);
}

function bridges(): string[] {
  return (JSON.parse(execFileSync("ip", ["-j", "link", "show", "type", "bridge"], { encoding: "utf8" }) || "[]") as Array<{ ifname: string }>).map((link) => link.ifname);
}

function hwaddr(vmid: number): string {
  return `BC:24:11:00:${String(Math.floor(vmid / 100) % 100).padStart(2, "0")}:${String(vmid % 100).padStart(2, "0")}`;
}

describe("LXC backend (real containers)", function () {
  this.timeout(300_000);
  let backend: LxcBackend;
  let lxcPath: string;
  let key: TestKeyPair;
  const figures: Record<string, number> = {};

  function spec(vmid: number, overrides: Partial<BackendContainerSpec> = {}): BackendContainerSpec {
    return {
      vmid, hostname: `lxct${vmid}`, memory: 256, swap: 0, cores: 1, unprivileged: true, env: {},
      networks: [{ name: "eth0", hwaddr: hwaddr(vmid), ip: "dhcp", bridge: "vmbr0" }],
      sshPublicKeys: [key.publicKey],
      archive: { path: backend.standardTemplate!, kind: "template" },
      ...overrides,
    };
  }

  /** The container's own DHCP client (ifupdown + dhclient from its image) takes a moment after start: poll, bounded. */
  async function eth0Address(vmid: number, timeoutMs = 60_000): Promise<string> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const eth0 = (await backend.interfaces(vmid)).find((entry) => entry.name === "eth0");
      if (eth0?.inet) return addressOf(eth0.inet);
      if (Date.now() > deadline) throw new Error(`container ${vmid} has no IPv4 on eth0 after ${timeoutMs} ms`);
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
  }

  before(async function () {
    requireLxc(this);
    key = generateTestKey();
    lxcPath = fs.mkdtempSync(path.join(os.tmpdir(), "lxc-backend-test-"));
    backend = (await createLxcBackend({ lxcPath })) as LxcBackend;
    await backend.cleanup();
  });

  after(async function () {
    if (backend) await backend.close();
    if (lxcPath) fs.rmSync(lxcPath, { recursive: true, force: true });
    if (Object.keys(figures).length > 0) console.log(`      figures (ms): ${JSON.stringify(figures)}`);
  });

  it("reports itself available as root with lxc installed", function () {
    assert.deepEqual(lxcAvailability(), { ok: true });
  });

  it("creates a container from the template alone, boots its own init, gets its address from the bridge's DHCP, answers SSH", async function () {
    let t = Date.now();
    assert.deepEqual(await backend.create(spec(101)), { ostype: "debian" });
    figures.create = Date.now() - t;
    assert.deepEqual(await backend.interfaces(101), [], "a created container is stopped and has no interfaces");

    t = Date.now();
    await backend.start(101);
    const address = await eth0Address(101);
    figures.startToIp = Date.now() - t;
    const interfaces = await backend.interfaces(101);
    const eth0 = interfaces.find((entry) => entry.name === "eth0")!;
    assert.equal(eth0.hwaddr, hwaddr(101).toLowerCase());
    assert.match(eth0.inet ?? "", /^10\.\d+\.\d+\.\d+\/\d+$/);
    assert.ok(interfaces.some((entry) => entry.name === "lo" && entry.inet === "127.0.0.1/8"));
    assert.ok(lxcNames(lxcPath).includes(backend.containerName(101)));

    await waitForSsh(address, key.privateKey, 60_000);
    figures.startToSshd = Date.now() - t;

    const hostname = await sshExec(address, key.privateKey, "hostname");
    assert.equal(hostname.stdout.trim(), "lxct101");
    // Inside: another PID namespace whose PID 1 is the template's own init, and a /usr that is the rootfs's, not the host's.
    const hostPidNs = fs.readlinkSync("/proc/self/ns/pid");
    const inside = await sshExec(address, key.privateKey, "readlink /proc/self/ns/pid; cat /proc/1/comm; grep -c ' /usr ' /proc/self/mountinfo; touch /usr/launchpad-probe; echo rc=$?");
    const [pidNs, initName, usrMounts] = inside.stdout.split("\n");
    assert.notEqual(pidNs, hostPidNs);
    assert.equal(initName, "init");
    assert.equal(usrMounts, "0", "nothing is mounted on /usr");
    assert.match(inside.stdout, /rc=0/);
    assert.ok(fs.existsSync(path.join(lxcPath, backend.containerName(101), "rootfs/usr/launchpad-probe")), "/usr is the container's own");
  });

  it("applies cores and memory as cgroup limits where the host has the controllers", async function () {
    const cgroups = backend.cgroups;
    if (cgroups.layout === "none" || !cgroups.memory) {
      if (process.env.CI === "true") throw new Error("no memory cgroup controller on the CI machine");
      console.warn("      skipped: no memory cgroup controller here");
      this.skip();
    }
    const name = backend.containerName(101);
    const memoryKey = cgroups.layout === "v2" ? "memory.max" : "memory.limit_in_bytes";
    const memory = execFileSync("lxc-cgroup", ["-P", lxcPath, "-n", name, memoryKey], { encoding: "utf8" }).trim();
    assert.equal(memory, String(256 * 1024 * 1024));
    if (cgroups.cpuset) {
      assert.equal(execFileSync("lxc-cgroup", ["-P", lxcPath, "-n", name, "cpuset.cpus"], { encoding: "utf8" }).trim(), "0");
    }
    // A reconfigure changes the running container's limit at once.
    await backend.reconfigure(spec(101, { memory: 384 }));
    const changed = execFileSync("lxc-cgroup", ["-P", lxcPath, "-n", name, memoryKey], { encoding: "utf8" }).trim();
    assert.equal(changed, String(384 * 1024 * 1024));
  });

  it("runs an entrypoint as PID 1 with env applied, serves HTTP from inside, and runs nothing else (no sshd)", async function () {
    const server = `require("http").createServer((q, s) => s.end(process.env.GREETING + " from " + require("os").hostname())).listen(8080)`;
    // No init runs ifupdown here: the address comes from the node's dhclient, so the NIC is host-managed (as PVE sets it for app images).
    // LXC splits lxc.init.cmd on blanks, quotes or not (as on a node): the program is a file, not an inline script.
    await backend.create(spec(102, {
      env: { GREETING: "hello from env's value" }, entrypoint: "/usr/bin/node /srv/server.js",
      networks: [{ name: "eth0", hwaddr: hwaddr(102), ip: "dhcp", bridge: "vmbr0", hostManaged: true }],
    }));
    fs.mkdirSync(path.join(lxcPath, backend.containerName(102), "rootfs/srv"), { recursive: true });
    fs.writeFileSync(path.join(lxcPath, backend.containerName(102), "rootfs/srv/server.js"), server);
    await backend.start(102);
    const address = await eth0Address(102);
    const response = await httpGet(address, 8080, "/");
    assert.equal(response.status, 200);
    assert.equal(response.body, "hello from env's value from lxct102");
    const processes = (await backend.attach(102, ["ps", "-eo", "pid,comm"])).stdout;
    assert.match(processes, /^\s*1 node$/m, processes);
    assert.doesNotMatch(processes, /sshd|init/, "the entrypoint replaces the image's init: nothing starts sshd");
    await assert.rejects(sshExec(address, key.privateKey, "true", 5_000), /ECONNREFUSED|connect/);
    await backend.stop(102);
  });

  it("shuts down cleanly (init takes SIGPWR), restarts with a reconfigured hostname, and stops hard", async function () {
    await backend.shutdown(101, { timeoutSeconds: 30, forceStop: false });
    assert.equal(await backend.state(101), "STOPPED");
    assert.deepEqual(await backend.interfaces(101), []);

    await backend.reconfigure(spec(101, { hostname: "renamed101" }));
    await backend.start(101);
    const address = await eth0Address(101);
    await waitForSsh(address, key.privateKey, 60_000);
    assert.equal((await sshExec(address, key.privateKey, "hostname")).stdout.trim(), "renamed101");

    await backend.stop(101);
    assert.equal(await backend.state(101), "STOPPED");
  });

  it("destroy removes the container and its files", async function () {
    await backend.destroy(102);
    await backend.destroy(101);
    assert.ok(!lxcNames(lxcPath).includes(backend.containerName(101)));
    assert.ok(!lxcNames(lxcPath).includes(backend.containerName(102)));
    assert.ok(!fs.existsSync(path.join(lxcPath, backend.containerName(101))));
    await assert.rejects(backend.start(101), /does not exist/);
  });

  it("gives two containers at once distinct addresses (a lease and a static one), both reachable", async function () {
    // The lower half of the subnet is outside dnsmasq's range: a static address there never meets a lease.
    const staticAddress = backend.gateway.replace(/\.\d+$/, ".20");
    await backend.create(spec(103));
    await backend.create(spec(104, {
      networks: [{ name: "eth0", hwaddr: hwaddr(104), ip: `${staticAddress}/24`, gw: backend.gateway }],
    }));
    await Promise.all([backend.start(103), backend.start(104)]);
    const first = await eth0Address(103);
    const second = await eth0Address(104);
    assert.notEqual(first, second);
    assert.equal(second, staticAddress);
    await Promise.all([waitForSsh(first, key.privateKey, 60_000), waitForSsh(second, key.privateKey, 60_000)]);
    assert.equal((await sshExec(first, key.privateKey, "hostname")).stdout.trim(), "lxct103");
    assert.equal((await sshExec(second, key.privateKey, "hostname")).stdout.trim(), "lxct104");
    // They see each other on the bridge too.
    const across = await sshExec(first, key.privateKey, `timeout 3 bash -c '</dev/tcp/${second}/22' && echo ok`);
    assert.equal(across.stdout.trim(), "ok");
    await backend.shutdown(103, { timeoutSeconds: 5, forceStop: true });
    await backend.destroy(103);
    await backend.destroy(104);
  });

  it("cleanup() removes what a crashed run left: running container, files, bridge and its dnsmasq", async function () {
    const crashPath = fs.mkdtempSync(path.join(os.tmpdir(), "lxc-crash-test-"));
    const child = spawn(process.execPath, ["-r", "ts-node/register/transpile-only", path.join(__dirname, "../support/lxc-crash.ts"), crashPath], {
      stdio: ["ignore", "pipe", "inherit"],
    });
    try {
      const made = await new Promise<{ bridge: string; name: string }>((resolve, reject) => {
        let out = "";
        child.stdout!.on("data", (chunk: Buffer) => {
          out += chunk.toString();
          if (out.includes("\n")) resolve(JSON.parse(out.split("\n")[0]));
        });
        child.on("exit", (code) => reject(new Error(`the crashing run exited early (${code})`)));
      });
      child.kill("SIGKILL");
      await new Promise((resolve) => child.once("exit", resolve));
      assert.ok(lxcNames(crashPath).includes(made.name), "the crashed run left its container");
      assert.ok(bridges().includes(made.bridge), "the crashed run left its bridge");
      const dnsmasqOf = (bridge: string) => spawnSync("pgrep", ["-f", `dnsmasq .*--interface=${bridge} `], { encoding: "utf8" }).stdout.trim();
      assert.notEqual(dnsmasqOf(made.bridge), "", "the crashed run left its dnsmasq");

      const next = await createLxcBackend({ lxcPath: crashPath });
      try {
        await next.cleanup();
        assert.deepEqual(lxcNames(crashPath), []);
        assert.ok(!fs.existsSync(path.join(crashPath, made.name)));
        assert.ok(!bridges().includes(made.bridge), `bridge ${made.bridge} is still there`);
        assert.equal(dnsmasqOf(made.bridge), "", "the crashed run's dnsmasq is gone");
        // A live run's bridge survives someone else's cleanup.
        assert.ok(bridges().includes(backend.bridge));
      } finally {
        await next.close();
      }
    } finally {
      if (child.exitCode === null) child.kill("SIGKILL");
      fs.rmSync(crashPath, { recursive: true, force: true });
    }
  });

  it("close() leaves no container, files or bridge behind", async function () {
    const closing = (await createLxcBackend({ lxcPath })) as LxcBackend;
    await closing.create(spec(105));
    await closing.start(105);
    await closing.close();
    assert.ok(!lxcNames(lxcPath).includes(closing.containerName(105)));
    assert.ok(!bridges().includes(closing.bridge));
  });
});
