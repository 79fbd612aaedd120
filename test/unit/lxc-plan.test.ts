import { strict as assert } from "assert";
import { LeaseTable, formatIpv4, overlaps, parseCidr, parseIpv4, parseSubnet } from "../../sandbox/lxc/addresses";
import {
  ContainerPlan, HostCgroups, cgroupLimits, effectiveEntrypoint, renderEnvFile, renderInitScript, renderLxcConfig,
  renderResolvConf, shellQuote,
} from "../../sandbox/lxc/render";
import { execFileSync } from "child_process";

const v1: HostCgroups = { layout: "v1", hostCpus: 4, cpuset: true, memory: true, memsw: true, swap: false };
const v2: HostCgroups = { layout: "v2", hostCpus: 4, cpuset: true, memory: true, memsw: false, swap: true };

function plan(overrides: Partial<ContainerPlan> = {}): ContainerPlan {
  return {
    name: "lpsbabcd-100", hostname: "web", rootfs: "/var/tmp/x/lpsbabcd-100/rootfs",
    networks: [{ index: 0, name: "eth0", hwaddr: "BC:24:11:00:00:01", bridge: "lpsbabcd", ipv4: "10.213.5.2/24", ipv4Gateway: "10.213.5.1" }],
    mounts: [{ source: "/usr", target: "usr" }], cgroupLimits: [["lxc.cgroup2.memory.max", "1"]],
    initLxc: "/usr/sbin/init.lxc", consoleLog: "/var/tmp/x/console.log",
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
    it("renders the network, mounts, init and limits as LXC keys", function () {
      const text = renderLxcConfig(plan());
      for (const line of [
        "lxc.uts.name = web", "lxc.net.0.link = lpsbabcd", "lxc.net.0.hwaddr = BC:24:11:00:00:01",
        "lxc.net.0.ipv4.address = 10.213.5.2/24", "lxc.net.0.ipv4.gateway = 10.213.5.1",
        "lxc.mount.entry = /usr usr none ro,bind,create=dir 0 0", "lxc.cgroup2.memory.max = 1",
        "lxc.init.cmd = /usr/sbin/init.lxc --name lpsbabcd-100 -- /.launchpad/init",
      ]) assert.ok(text.split("\n").includes(line), `missing: ${line}\n${text}`);
    });

    it("refuses a value that would smuggle in another config line", function () {
      assert.throws(() => renderLxcConfig(plan({ hostname: "web\nlxc.mount.entry = / host none bind 0 0" })), /line break/);
    });

    it("gives a container without networks an empty network namespace", function () {
      assert.ok(renderLxcConfig(plan({ networks: [] })).includes("lxc.net.0.type = empty"));
    });

    it("quotes env values so that the shell reads them back verbatim", function () {
      const env = { A: "it's $HOME `x` \"q\"", EMPTY: "", MULTI: "line1\nline2" };
      const script = `${renderEnvFile(env)}printf '%s|' "$A" "$EMPTY" "$MULTI"`;
      assert.equal(execFileSync("/bin/sh", ["-c", script], { encoding: "utf8" }), `${env.A}|${env.EMPTY}|${env.MULTI}|`);
      assert.throws(() => renderEnvFile({ "BAD-NAME": "x", "1X": "y" }), /BAD-NAME, 1X/);
      assert.equal(shellQuote("a'b"), `'a'\\''b'`);
    });

    it("starts sshd, then runs the entrypoint and ends the container with it, or idles when there is none (the host's /sbin/init is never booted)", function () {
      const withEntrypoint = renderInitScript({ sshd: "/usr/sbin/sshd", entrypoint: "node server.js --port 80" });
      const entrypointAt = withEntrypoint.indexOf("/bin/sh -c 'exec node server.js --port 80'");
      assert.ok(withEntrypoint.indexOf("sshd") < entrypointAt && entrypointAt >= 0);
      assert.ok(entrypointAt < withEntrypoint.indexOf("kill -s TERM -- -1"), "what else runs (sshd) ends after the entrypoint");
      assert.match(renderInitScript({ sshd: "/usr/sbin/sshd" }), /exec sleep infinity/);
      assert.equal(effectiveEntrypoint("/sbin/init"), undefined);
      assert.equal(effectiveEntrypoint("  "), undefined);
    });

    it("writes the requested resolvers, or keeps the host's", function () {
      assert.equal(renderResolvConf("10.0.0.53 10.0.0.54", "example.test", "host"), "search example.test\nnameserver 10.0.0.53\nnameserver 10.0.0.54\n");
      assert.equal(renderResolvConf(undefined, undefined, "nameserver 1.1.1.1\n"), "nameserver 1.1.1.1\n");
    });
  });
});
