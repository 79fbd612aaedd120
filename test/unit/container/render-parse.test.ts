// Reading Proxmox's own config strings back (drift detection and the update's PUT), and the address rules
// `check` applies: the forms PVE returns and accepts (pve-container src/PVE/LXC/Config.pm net and rootfs
// formats, PVE::JSONSchema pve-ipv4-config / CIDR checks), not only the strings this library writes.
import { strict as assert } from "assert";
import { parseInputs, type ContainerInputs } from "../../../provider/container/schema";
import {
  configChanges, ociFileStem, renderFeatures, renderNet0, parseDiskSizeGiB, parseEnv, parseFeatures, parseNet0, parseTags, renderConfig, renderCreateParams, renderTags,
} from "../../../provider/container/render";
import { VALID } from "./fixtures";

const inputs = (raw: Record<string, unknown>) => parseInputs({ ...VALID, ...raw }).inputs as ContainerInputs;
const problems = (network: Record<string, unknown>) => parseInputs({ ...VALID, network }).failures.map((f) => `${f.property}: ${f.reason}`);

describe("container config strings as Proxmox returns them", () => {
  it("reads net0 as PVE stores it: DHCP, static with and without gateways, SLAAC, VLAN and MTU, Proxmox's keys ignored", () => {
    assert.deepEqual(parseNet0("name=eth0,bridge=vmbr0,hwaddr=BC:24:11:2A:3B:4C,ip=dhcp,type=veth"),
      { network: { bridge: "vmbr0", ipv4: "dhcp", firewall: false }, hwaddr: "BC:24:11:2A:3B:4C" });
    assert.deepEqual(parseNet0("name=eth0,bridge=vmbr2,ip=10.1.0.7/24,ip6=fd00::7/64,gw6=fd00::1,firewall=0,type=veth").network,
      { bridge: "vmbr2", ipv4: { address: "10.1.0.7/24" }, ipv6: { address: "fd00::7/64", gateway: "fd00::1" }, firewall: false });
    assert.deepEqual(parseNet0("name=eth0,bridge=vmbr0,ip=10.1.0.7/24,gw=10.1.0.1,ip6=fd00::7/64,tag=30,mtu=9000").network,
      { bridge: "vmbr0", ipv4: { address: "10.1.0.7/24", gateway: "10.1.0.1" }, ipv6: { address: "fd00::7/64" }, firewall: false, vlan: 30, mtu: 9000 });
    assert.deepEqual(parseNet0("name=eth0,bridge=vmbr0,ip=dhcp,ip6=dhcp").network.ipv6, "dhcp");
    assert.deepEqual(parseNet0("name=eth0,bridge=vmbr0,ip=dhcp,ip6=auto").network.ipv6, "auto");
    // A NIC with no ip at all gets no static address: read as DHCP, the default; no bridge reads as vmbr0.
    assert.deepEqual(parseNet0("name=eth0").network, { bridge: "vmbr0", ipv4: "dhcp", firewall: false });
    assert.equal(parseNet0("name=eth0,bridge=vmbr0,ip=dhcp").hwaddr, undefined);
  });

  it("writes static addresses without a gateway as just the address, DHCPv6 as ip6=dhcp, several features comma-joined", () => {
    assert.equal(renderNet0({ bridge: "vmbr0", ipv4: { address: "10.1.0.7/24" }, ipv6: { address: "fd00::7/64" }, firewall: false }), "name=eth0,bridge=vmbr0,ip=10.1.0.7/24,ip6=fd00::7/64");
    assert.equal(renderNet0({ bridge: "vmbr0", ipv4: "dhcp", ipv6: "dhcp", firewall: false }), "name=eth0,bridge=vmbr0,ip=dhcp,ip6=dhcp");
    assert.equal(renderFeatures({ nesting: true, keyctl: false, fuse: true }), "fuse=1,nesting=1");
  });

  it("reads a rootfs size in any unit PVE prints, and nothing from a volume without one", () => {
    assert.equal(parseDiskSizeGiB("local-lvm:vm-105-disk-0,size=1T"), 1024);
    assert.equal(parseDiskSizeGiB("local-lvm:vm-105-disk-0,size=8.5G"), 8.5);
    assert.equal(parseDiskSizeGiB("local-lvm:vm-105-disk-0,size=8.25G"), 8.25);
    assert.equal(parseDiskSizeGiB("local-lvm:vm-105-disk-0,size=2097152K"), 2);
    assert.equal(parseDiskSizeGiB(`local-lvm:vm-105-disk-0,size=${4 * 1024 ** 3}`), 4);
    assert.equal(parseDiskSizeGiB("local-lvm:vm-105-disk-0"), undefined);
    assert.equal(parseDiskSizeGiB("local-lvm:vm-105-disk-0,size=8GB"), undefined);
    assert.equal(parseDiskSizeGiB("local-lvm:vm-105-disk-0,size=x8G"), undefined);
  });

  it("reads features, env and tags as PVE returns them", () => {
    assert.deepEqual(parseFeatures("fuse=1,mount=nfs;cifs"), { nesting: false, keyctl: false, fuse: true });
    assert.deepEqual(parseFeatures("nesting=0,keyctl=1"), { nesting: false, keyctl: true, fuse: false });
    assert.deepEqual(parseFeatures(undefined), { nesting: false, keyctl: false, fuse: false });
    // An empty value is a value; a pair without a name is not.
    assert.deepEqual(parseEnv("EMPTY=\0=orphan\0PATH=/usr/bin"), { EMPTY: "", PATH: "/usr/bin" });
    assert.deepEqual(parseEnv(undefined), {});
    assert.deepEqual(parseTags("Web;;lp-stack-dev"), ["web", "lp-stack-dev"]);
    assert.deepEqual(parseTags(undefined), []);
    assert.equal(renderTags(["web", "WEB"]), "web");
  });

  it("writes nameservers and search domains space-separated; an empty description is not written", () => {
    const config = renderConfig(inputs({ nameserver: ["1.1.1.1", "9.9.9.9"], searchdomain: ["a.test", "b.test"], description: "" }), {});
    assert.equal(config.nameserver, "1.1.1.1 9.9.9.9");
    assert.equal(config.searchdomain, "a.test b.test");
    assert.equal("description" in config, false);
    assert.deepEqual(Object.keys(renderConfig(inputs({}), {})).sort(), ["cores", "features", "hostname", "memory", "net0", "onboot", "swap", "tags"]);
  });

  it("a create without keys, password or pool sends none of them; an image's env and entrypoint come from the image", () => {
    const params = renderCreateParams(inputs({ env: { A: "1" }, entrypoint: "/bin/app" }), { vmid: 101, ostemplate: "local:vztmpl/x.tar", storage: "local", identityTag: "lp-0123456789-abcdef", fromImage: true, start: true });
    for (const key of ["ssh-public-keys", "password", "pool", "env", "entrypoint"]) assert.equal(key in params, false, key);
    assert.equal(renderCreateParams(inputs({ password: "s3cret!" }), { vmid: 101, ostemplate: "local:vztmpl/x.tar", storage: "local", identityTag: "lp-0123456789-abcdef", fromImage: false }).password, "s3cret!");
    assert.equal(params.start, 1);
    assert.equal(params.rootfs, "local:8");
  });

  it("the PUT of an unchanged config is empty even when PVE returns numbers as strings; keys asked to be kept are not deleted", () => {
    assert.deepEqual(configChanges({ cores: "2", memory: 512 }, { cores: 2, memory: "512" }), { set: {}, delete: [] });
    assert.deepEqual(configChanges({ cores: 2, description: "x", tags: "a" }, { cores: 2 }, ["description"]), { set: {}, delete: ["tags"] });
  });

  it("names pulled images: Docker Hub's library, a localhost registry, a registry port without a tag", () => {
    assert.equal(ociFileStem("nginx"), "docker.io_library_nginx_latest");
    assert.equal(ociFileStem("acme/shop:1"), "docker.io_acme_shop_1");
    assert.equal(ociFileStem("localhost/app:v1"), "localhost_app_v1");
    assert.equal(ociFileStem("registry.test:5000/app"), "registry.test_5000_app_latest");
    assert.equal(ociFileStem("docker.io/nginx:1"), "docker.io_library_nginx_1");
    assert.equal(ociFileStem("ghcr.io/app:v+1"), "ghcr.io_app_v_1");
    assert.equal(ociFileStem("my.app:1"), "docker.io_library_my.app_1", "one segment is never a registry");
    assert.equal(ociFileStem("localhost"), "docker.io_library_localhost_latest");
  });
});

describe("container address checks", () => {
  it("IPv4 prefixes 1 to 32, two digits, one slash", () => {
    for (const address of ["10.0.0.5/1", "10.0.0.5/32", "10.0.0.5/24"]) assert.deepEqual(problems({ ipv4: { address } }), [], address);
    for (const address of ["10.0.0.5/0", "10.0.0.5/33", "10.0.0.5/024", "10.0.0.5/24/1", "10.0.0.5/", "x10.0.0.5/24"]) {
      assert.deepEqual(problems({ ipv4: { address } }), ["network.ipv4.address: must be an IPv4 address with a prefix length, like 10.0.0.5/24"], address);
    }
  });

  it("IPv6 prefixes 1 to 128, and an IPv6 gateway", () => {
    assert.deepEqual(problems({ ipv6: { address: "fd00::5/64", gateway: "router" } }), ["network.ipv6.gateway: must be an IPv6 address"]);
    assert.deepEqual(problems({ ipv6: { address: "fd00::5/64", gateway: "10.0.0.1" } }), ["network.ipv6.gateway: must be an IPv6 address"]);
    for (const address of ["fd00::5/1", "fd00::5/128", "fd00::5/64"]) assert.deepEqual(problems({ ipv6: { address } }), [], address);
    for (const address of ["fd00::5/0", "fd00::5/129", "fd00::5/0064", "fd00::5/64/1", "fd00::5"]) {
      assert.deepEqual(problems({ ipv6: { address } }), ["network.ipv6.address: must be an IPv6 address with a prefix length, like fd00::5/64"], address);
    }
  });

  it("an IPv4 gateway inside the subnet and not the address itself; point-to-point prefixes (31, 32) take any gateway", () => {
    assert.deepEqual(problems({ ipv4: { address: "10.0.0.5/24", gateway: "10.0.0.1" } }), []);
    assert.deepEqual(problems({ ipv4: { address: "10.0.0.5/1", gateway: "100.0.0.1" } }), []);
    assert.deepEqual(problems({ ipv4: { address: "10.0.0.5/1", gateway: "200.0.0.1" } }), ["network.ipv4.gateway: must be inside 10.0.0.5/1's subnet"]);
    assert.deepEqual(problems({ ipv4: { address: "10.0.0.5/30", gateway: "10.0.0.8" } }), ["network.ipv4.gateway: must be inside 10.0.0.5/30's subnet"]);
    assert.deepEqual(problems({ ipv4: { address: "10.0.0.5/24", gateway: "10.0.0.5" } }), ["network.ipv4.gateway: must differ from the container's own address"]);
    assert.deepEqual(problems({ ipv4: { address: "10.0.0.5/32", gateway: "192.168.1.1" } }), []);
    assert.deepEqual(problems({ ipv4: { address: "10.0.0.5/31", gateway: "192.168.1.1" } }), []);
  });
});
