import { strict as assert } from "assert";
import { execFileSync, spawn } from "child_process";
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
  this.timeout(120_000);
  let backend: LxcBackend;
  let lxcPath: string;
  let key: TestKeyPair;
  const figures: Record<string, number> = {};

  function spec(vmid: number, overrides: Partial<BackendContainerSpec> = {}): BackendContainerSpec {
    return {
      vmid, hostname: `lxct${vmid}`, memory: 256, swap: 0, cores: 1, unprivileged: true, env: {},
      networks: [{ name: "eth0", hwaddr: hwaddr(vmid), ip: "dhcp", bridge: "vmbr0" }],
      sshPublicKeys: [key.publicKey],
      ...overrides,
    };
  }

  async function eth0Address(vmid: number): Promise<string> {
    const eth0 = (await backend.interfaces(vmid)).find((entry) => entry.name === "eth0");
    assert.ok(eth0, `container ${vmid} has no eth0`);
    return addressOf(eth0.inet);
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

  it("creates and starts a container whose address shows in interfaces(), then answers SSH inside", async function () {
    let t = Date.now();
    await backend.create(spec(101));
    figures.create = Date.now() - t;
    assert.deepEqual(await backend.interfaces(101), [], "a created container is stopped and has no interfaces");

    t = Date.now();
    await backend.start(101);
    const interfaces = await backend.interfaces(101);
    figures.startToIp = Date.now() - t;
    const eth0 = interfaces.find((entry) => entry.name === "eth0");
    assert.ok(eth0, JSON.stringify(interfaces));
    assert.equal(eth0.hwaddr, hwaddr(101).toLowerCase());
    assert.match(eth0.inet ?? "", /^10\.\d+\.\d+\.\d+\/\d+$/);
    assert.ok(interfaces.some((entry) => entry.name === "lo" && entry.inet === "127.0.0.1/8"));
    assert.ok(lxcNames(lxcPath).includes(backend.containerName(101)));

    const address = addressOf(eth0.inet);
    await waitForSsh(address, key.privateKey);
    figures.startToSshd = Date.now() - t;

    const hostname = await sshExec(address, key.privateKey, "hostname");
    assert.equal(hostname.stdout.trim(), "lxct101");
    // Inside: another PID namespace (pid 1 is LXC's init, not the host's), and the host's /usr read-only.
    const hostPidNs = fs.readlinkSync("/proc/self/ns/pid");
    const inside = await sshExec(address, key.privateKey, "readlink /proc/self/ns/pid; cat /proc/1/comm; touch /usr/launchpad-probe 2>&1; echo rc=$?");
    const [pidNs, initName] = inside.stdout.split("\n");
    assert.notEqual(pidNs, hostPidNs);
    assert.match(initName, /init/);
    assert.match(inside.stdout, /Read-only file system/);
    assert.match(inside.stdout, /rc=1/);
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

  it("runs the entrypoint with env applied, and serves HTTP to the host from inside", async function () {
    const entrypoint = `sh -c 'mkdir -p /srv/www && printf "%s" "$GREETING" > /srv/www/greeting && exec python3 -m http.server 8080 --directory /srv/www'`;
    await backend.create(spec(102, { env: { GREETING: "hello from env's value" }, entrypoint }));
    await backend.start(102);
    const address = await eth0Address(102);
    const response = await httpGet(address, 8080, "/greeting");
    assert.equal(response.status, 200);
    assert.equal(response.body, "hello from env's value");

    // The deploy step's way: an app started over SSH with node from the host's /usr.
    await waitForSsh(address, key.privateKey);
    const started = await sshExec(address, key.privateKey,
      `nohup node -e 'require("http").createServer((q, s) => s.end("node in " + require("os").hostname())).listen(3000)' >/tmp/app.log 2>&1 & echo started`);
    assert.equal(started.stdout.trim(), "started");
    const app = await httpGet(address, 3000);
    assert.equal(app.body, "node in lxct102");
  });

  it("shuts down cleanly, restarts with a reconfigured hostname and keys, and stops hard", async function () {
    await backend.shutdown(102, { timeoutSeconds: 10, forceStop: false });
    assert.equal(await backend.state(102), "STOPPED");
    assert.deepEqual(await backend.interfaces(102), []);

    const second = generateTestKey();
    await backend.reconfigure(spec(102, { hostname: "renamed102", sshPublicKeys: [second.publicKey] }));
    await backend.start(102);
    const address = await eth0Address(102);
    await waitForSsh(address, second.privateKey);
    assert.equal((await sshExec(address, second.privateKey, "hostname")).stdout.trim(), "renamed102");
    await assert.rejects(sshExec(address, key.privateKey, "true", 5_000), /authentication/i, "the old key is gone");

    await backend.stop(102);
    assert.equal(await backend.state(102), "STOPPED");
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
    const staticAddress = backend.gateway.replace(/\.\d+$/, ".200");
    await backend.create(spec(103));
    await backend.create(spec(104, {
      networks: [{ name: "eth0", hwaddr: hwaddr(104), ip: `${staticAddress}/24`, gw: backend.gateway }],
    }));
    await Promise.all([backend.start(103), backend.start(104)]);
    const first = await eth0Address(103);
    const second = await eth0Address(104);
    assert.notEqual(first, second);
    assert.equal(second, staticAddress);
    await Promise.all([waitForSsh(first, key.privateKey), waitForSsh(second, key.privateKey)]);
    assert.equal((await sshExec(first, key.privateKey, "hostname")).stdout.trim(), "lxct103");
    assert.equal((await sshExec(second, key.privateKey, "hostname")).stdout.trim(), "lxct104");
    // They see each other on the bridge too.
    const across = await sshExec(first, key.privateKey, `python3 -c "import socket; socket.create_connection(('${second}', 22), 3).close(); print('ok')"`);
    assert.equal(across.stdout.trim(), "ok");
    await backend.shutdown(103, { timeoutSeconds: 5, forceStop: true });
    await backend.destroy(103);
    await backend.destroy(104);
  });

  it("cleanup() removes what a crashed run left: running container, files and bridge", async function () {
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

      const next = await createLxcBackend({ lxcPath: crashPath });
      try {
        await next.cleanup();
        assert.deepEqual(lxcNames(crashPath), []);
        assert.ok(!fs.existsSync(path.join(crashPath, made.name)));
        assert.ok(!bridges().includes(made.bridge), `bridge ${made.bridge} is still there`);
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
