import { strict as assert } from "assert";
import { parseInputs, type ContainerInputs } from "../../../provider/container/schema";
import {
  configChanges, ociFileStem, parseDiskSizeGiB, parseEnv, parseFeatures, parseNet0, parseTags, renderConfig, renderCreateParams,
  renderEnv, renderFeatures, renderNet0, renderRootfs, renderTags,
} from "../../../provider/container/render";
import { addressesOf } from "../../../provider/container/apply";
import { identityPrefix, newClaim, isOurIdentityTag } from "../../../provider/container/identity";
import { PUBLIC_KEY, VALID } from "./fixtures";

const inputs = (raw: Record<string, unknown>) => parseInputs({ ...VALID, ...raw }).inputs as ContainerInputs;

describe("container render", () => {
  it("renders net0 for DHCP, static, VLAN, firewall, MTU, keeping the MAC", () => {
    assert.equal(renderNet0(inputs({}).network), "name=eth0,bridge=vmbr0,ip=dhcp");
    const net = inputs({ network: { bridge: "vmbr1", vlan: 20, firewall: true, mtu: 1450, ipv4: { address: "10.0.0.5/24", gateway: "10.0.0.1" }, ipv6: "auto" } }).network;
    const text = renderNet0(net, "BC:24:11:00:00:01");
    assert.equal(text, "name=eth0,bridge=vmbr1,hwaddr=BC:24:11:00:00:01,ip=10.0.0.5/24,gw=10.0.0.1,ip6=auto,tag=20,firewall=1,mtu=1450");
    assert.deepEqual(parseNet0(text), { network: net, hwaddr: "BC:24:11:00:00:01" });
  });

  it("renders rootfs, features (only flags that are on), env (NUL-separated, sorted) and tags", () => {
    assert.equal(renderRootfs("local-lvm", 8), "local-lvm:8");
    assert.equal(renderFeatures({ nesting: true, keyctl: false, fuse: false }), "nesting=1");
    assert.equal(renderFeatures({ nesting: false, keyctl: false, fuse: false }), undefined);
    assert.deepEqual(parseFeatures("keyctl=1,nesting=1"), { nesting: true, keyctl: true, fuse: false });
    assert.equal(renderEnv({ B: "2", A: "x=y" }), "A=x=y\0B=2");
    assert.deepEqual(parseEnv("A=x=y\0B=2"), { A: "x=y", B: "2" });
    assert.equal(renderEnv({}), undefined);
    assert.equal(renderTags(["b", "A"], "lp-0123456789-abcdef"), "a;b;lp-0123456789-abcdef");
    assert.deepEqual(parseTags("a;b,c d"), ["a", "b", "c", "d"]);
    assert.equal(parseDiskSizeGiB("local-lvm:vm-105-disk-0,size=8G"), 8);
    assert.equal(parseDiskSizeGiB("local:105/vm-105-disk-0.raw,size=512M"), 0.5);
  });

  it("renders create parameters with keys, password, pool and unprivileged", () => {
    const params = renderCreateParams(inputs({ sshPublicKeys: [PUBLIC_KEY, PUBLIC_KEY], password: "s3cret!", pool: "previews", env: { A: "1" } }), {
      vmid: 105, ostemplate: "local:vztmpl/x.tar.zst", storage: "local-lvm", identityTag: "lp-0123456789-abcdef", fromImage: false,
    });
    assert.equal(params["ssh-public-keys"], `${PUBLIC_KEY}\n${PUBLIC_KEY}`);
    assert.equal(params.unprivileged, 1);
    assert.equal(params.rootfs, "local-lvm:8");
    assert.equal(params.pool, "previews");
    assert.equal(params.env, "A=1");
    assert.equal(params.tags, "lp-0123456789-abcdef");
    const fromImage = renderCreateParams(inputs({ env: { A: "1" }, entrypoint: "/app" }), { vmid: 1, ostemplate: "x", storage: "s", identityTag: "t", fromImage: true });
    assert.equal(fromImage.env, undefined, "an image's env is merged after the create");
    assert.equal(fromImage.entrypoint, undefined);
  });

  it("computes the one PUT: changed keys set, removed keys deleted, nothing when equal", () => {
    const before = renderConfig(inputs({ description: "x", env: { A: "1" } }), { hwaddr: "AA:BB:CC:DD:EE:FF" });
    assert.deepEqual(configChanges(before, before), { set: {}, delete: [] });
    const after = renderConfig(inputs({ cores: 2 }), { hwaddr: "AA:BB:CC:DD:EE:FF" });
    assert.deepEqual(configChanges(before, after), { set: { cores: 2 }, delete: ["description", "env"] });
  });

  it("names pulled images <registry>_<namespace>_<image>_<tag>", () => {
    assert.equal(ociFileStem("nginx:1.27"), "docker.io_library_nginx_1.27");
    assert.equal(ociFileStem("ghcr.io/acme/app:v2"), "ghcr.io_acme_app_v2");
    assert.equal(ociFileStem("registry.example.com:5000/team/app:latest"), "registry.example.com_5000_team_app_latest");
  });

  it("reads eth0's addresses from inet and ip-addresses, skipping lo and link-local", () => {
    assert.deepEqual(addressesOf([
      { name: "lo", hwaddr: "00:00:00:00:00:00", "hardware-address": "", inet: "127.0.0.1/8", "ip-addresses": [] },
      { name: "eth0", hwaddr: "bc:24:11:aa:bb:cc", "hardware-address": "", inet6: "fe80::1/64", "ip-addresses": [
        { "ip-address": "169.254.1.1", "ip-address-type": "inet", prefix: 16 },
        { "ip-address": "10.0.0.9", "ip-address-type": "inet", prefix: 24 },
        { "ip-address": "fd00::9", "ip-address-type": "inet6", prefix: 64 },
      ] },
    ]), { ipv4: "10.0.0.9", ipv6: "fd00::9", mac: "BC:24:11:AA:BB:CC" });
    assert.deepEqual(addressesOf([{ name: "eth0", hwaddr: "aa:aa:aa:aa:aa:aa", "hardware-address": "", inet: "10.1.2.3/24", "ip-addresses": [] }]).ipv4, "10.1.2.3");
  });

  it("derives identity tags that change with replace-class inputs, not with in-place ones", async () => {
    const id = "f".repeat(32);
    const base = await identityPrefix(id, inputs({}));
    assert.match(base, /^lp-[0-9a-f]{10}-$/);
    assert.equal(await identityPrefix(id, inputs({ cores: 8, tags: ["x"] })), base);
    assert.notEqual(await identityPrefix(id, inputs({ password: "another1" })), base);
    assert.notEqual(await identityPrefix("e".repeat(32), inputs({})), base);
    const tag = base + newClaim();
    assert.ok(isOurIdentityTag(tag), tag);
    assert.ok(!tag.includes("another1"));
  });
});
