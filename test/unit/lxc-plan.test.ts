import { strict as assert } from "assert";
import { LeaseTable, formatIpv4, overlaps, parseCidr, parseIpv4, parseSubnet } from "../../sandbox/lxc/addresses";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import type { BackendContainerSpec } from "../../sandbox/backend";
import { ContainerPlan, HostCgroups, cgroupLimits, renderLxcConfig } from "../../sandbox/lxc/render";
import { assertSupportedOstype, detectOstype, modifyFile, renderInterfaces } from "../../sandbox/lxc/setup";

const v1: HostCgroups = { layout: "v1", hostCpus: 4, cpuset: true, memory: true, memsw: true, swap: false };
const v2: HostCgroups = { layout: "v2", hostCpus: 4, cpuset: true, memory: true, memsw: false, swap: true };

function plan(overrides: Partial<ContainerPlan> = {}): ContainerPlan {
  return {
    name: "lpsbabcd-100", hostname: "web", rootfs: "/var/tmp/x/lpsbabcd-100/rootfs",
    networks: [{ index: 0, name: "eth0", hwaddr: "BC:24:11:00:00:01", bridge: "lpsbabcd", hostManaged: true, ipv4: "10.213.5.2/24", ipv4Gateway: "10.213.5.1" }],
    cgroupLimits: [["lxc.cgroup2.memory.max", "1"]], consoleLog: "/var/tmp/x/console.log", env: [], raw: [],
    ...overrides,
  };
}

describe("LXC backend planning (pure)", function () {
  describe("addresses", function () {
    it("parses and formats IPv4 and CIDRs, rejecting malformed ones", function () {
      assert.equal(formatIpv4(parseIpv4("10.213.7.254")!), "10.213.7.254");
      assert.equal(parseIpv4("10.213.7"), undefined);
      assert.equal(parseIpv4("10.213.7.256"), undefined);
      assert.deepEqual(parseCidr("10.0.0.5/24"), { address: parseIpv4("10.0.0.5"), prefix: 24 });
      assert.equal(parseCidr("10.0.0.5/33"), undefined);
      assert.equal(parseCidr("dhcp"), undefined);
    });

    it("knows when subnets overlap", function () {
      assert.ok(overlaps(parseSubnet("10.213.0.0/16")!, parseSubnet("10.213.9.0/24")!));
      assert.ok(!overlaps(parseSubnet("10.213.8.0/24")!, parseSubnet("10.213.9.0/24")!));
    });

    it("leases stable, distinct addresses, skipping the gateway, statics and the broadcast address", function () {
      const table = new LeaseTable(parseSubnet("10.213.9.0/29")!);
      table.reserveStatic("200/net0", parseIpv4("10.213.9.3")!);
      const first = table.lease("100/net0");
      assert.equal(formatIpv4(first), "10.213.9.2");
      assert.equal(table.lease("100/net0"), first, "same key, same address");
      assert.equal(formatIpv4(table.lease("101/net0")), "10.213.9.4");
      assert.equal(formatIpv4(table.lease("102/net0")), "10.213.9.5");
      assert.equal(formatIpv4(table.lease("103/net0")), "10.213.9.6");
      assert.throws(() => table.lease("104/net0"), /no free address/);
      table.releaseContainer(101);
      assert.equal(formatIpv4(table.lease("104/net0")), "10.213.9.4");
    });
  });

  describe("cgroup limits", function () {
    it("maps cores to a cpuset and memory+swap to v1's memsw", function () {
      assert.deepEqual(cgroupLimits({ cores: 2, memoryMiB: 512, swapMiB: 256 }, v1), [
        ["lxc.cgroup.cpuset.cpus", "0-1"],
        ["lxc.cgroup.memory.limit_in_bytes", String(512 * 2 ** 20)],
        ["lxc.cgroup.memory.memsw.limit_in_bytes", String(768 * 2 ** 20)],
      ]);
    });

    it("uses cgroup2 keys on a unified host, and never more CPUs than the host has", function () {
      assert.deepEqual(cgroupLimits({ cores: 16, memoryMiB: 64, swapMiB: 0 }, v2), [
        ["lxc.cgroup2.cpuset.cpus", "0-3"],
        ["lxc.cgroup2.memory.max", String(64 * 2 ** 20)],
        ["lxc.cgroup2.memory.swap.max", "0"],
      ]);
    });

    it("sets nothing it cannot: no controllers, no cores", function () {
      assert.deepEqual(cgroupLimits({ memoryMiB: 64, swapMiB: 0 }, { ...v1, layout: "none" }), []);
      assert.deepEqual(cgroupLimits({ memoryMiB: 64, swapMiB: 0 }, { ...v1, memsw: false }), [["lxc.cgroup.memory.limit_in_bytes", String(64 * 2 ** 20)]]);
    });
  });

  describe("config and init", function () {
    it("renders the network, entrypoint, env, raw keys and limits as LXC keys, and mounts nothing of the host", function () {
      const text = renderLxcConfig(plan({ entrypoint: "/bin/busybox httpd -f", env: ["A=1"], raw: [["lxc.init.cwd", "/www"], ["lxc.signal.halt", "SIGTERM"]] }));
      for (const line of [
        "lxc.uts.name = web", "lxc.net.0.link = lpsbabcd", "lxc.net.0.hwaddr = BC:24:11:00:00:01",
        "lxc.net.0.ipv4.address = 10.213.5.2/24", "lxc.net.0.ipv4.gateway = 10.213.5.1", "lxc.net.0.flags = up",
        "lxc.cgroup2.memory.max = 1", "lxc.init.cmd = /bin/busybox httpd -f", "lxc.environment = A=1",
        "lxc.init.cwd = /www", "lxc.signal.halt = SIGTERM",
      ]) assert.ok(text.split("\n").includes(line), `missing: ${line}\n${text}`);
      assert.doesNotMatch(text, /lxc\.mount\.entry/);
    });

    it("leaves a NIC without host-managed to the container: no address, no link-up from the node (LXC.pm update_lxc_config)", function () {
      const text = renderLxcConfig(plan({ networks: [{ index: 0, name: "eth0", hwaddr: "BC:24:11:00:00:01", bridge: "lpsbabcd", hostManaged: false }] }));
      assert.ok(text.includes("lxc.net.0.link = lpsbabcd"));
      assert.doesNotMatch(text, /ipv4|flags/);
      assert.doesNotMatch(renderLxcConfig(plan()), /lxc\.init\.cmd/, "no entrypoint: LXC boots the image's /sbin/init");
    });

    it("refuses a value that would smuggle in another config line", function () {
      assert.throws(() => renderLxcConfig(plan({ hostname: "web\nlxc.mount.entry = / host none bind 0 0" })), /line break/);
    });

    it("gives a container without networks an empty network namespace", function () {
      assert.ok(renderLxcConfig(plan({ networks: [] })).includes("lxc.net.0.type = empty"));
    });
  });

  describe("setup (Setup.pm)", function () {
    let root: string;
    beforeEach(() => { root = fs.mkdtempSync(path.join(os.tmpdir(), "lxc-setup-")); });
    afterEach(() => fs.rmSync(root, { recursive: true, force: true }));
    const write = (file: string, content: string) => {
      fs.mkdirSync(path.dirname(path.join(root, file)), { recursive: true });
      fs.writeFileSync(path.join(root, file), content);
    };

    it("detects the OS type from os-release, falls back to release files, and is unmanaged without os-release", function () {
      assert.equal(detectOstype(root), "unmanaged");
      write("etc/debian_version", "12.7\n");
      assert.equal(detectOstype(root), "debian");
      write("etc/os-release", "ID=rocky\n");
      assert.equal(detectOstype(root), "centos");
      assert.throws(() => assertSupportedOstype("centos"), /ostype 'centos' is not supported by the sandbox/);
      assert.doesNotThrow(() => assertSupportedOstype("unmanaged"));
    });

    it("edits only its BEGIN/END PVE section of a file, and refuses to write through a symlink", function () {
      write("etc/hosts", "10.0.0.9 mine\n");
      modifyFile(root, "etc/hosts", "127.0.1.1 web", {});
      assert.equal(fs.readFileSync(path.join(root, "etc/hosts"), "utf8"), "10.0.0.9 mine\n# --- BEGIN PVE ---\n127.0.1.1 web\n# --- END PVE ---\n");
      modifyFile(root, "etc/hosts", "127.0.1.1 api", {});
      assert.equal(fs.readFileSync(path.join(root, "etc/hosts"), "utf8"), "10.0.0.9 mine\n# --- BEGIN PVE ---\n127.0.1.1 api\n# --- END PVE ---\n");
      fs.symlinkSync("/etc", path.join(root, "escape"));
      assert.throws(() => modifyFile(root, "escape/launchpad-test", "x", {}), /symbolic link/);
    });

    it("writes /etc/network/interfaces stanzas for dhcp and static NICs", function () {
      const spec = { networks: [{ name: "eth0", hwaddr: "x", ip: "dhcp" }, { name: "eth1", hwaddr: "y", ip: "10.0.0.5/24", gw: "10.0.0.1" }] } as BackendContainerSpec;
      assert.equal(renderInterfaces(spec), "auto eth0\niface eth0 inet dhcp\n\nauto eth1\niface eth1 inet static\n\taddress 10.0.0.5/24\n\tgateway 10.0.0.1");
    });
  });
});
