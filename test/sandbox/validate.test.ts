// The sandbox rejects what Proxmox VE's parameter verification rejects, with PVE's messages,
// and accepts what it accepts. Schemas come from the committed subset of the official apidoc.
import { strict as assert } from "assert";
import { validateParameters, ParametersSchema } from "../../sandbox/server/validate";
import subset = require("../../sandbox/schema/pve-api-subset.json");

const endpoints = subset.endpoints as unknown as Record<string, Record<string, { parameters: ParametersSchema }>>;
const schema = (path: string, method: string) => endpoints[path][method].parameters;
const CREATE = schema("/nodes/{node}/lxc", "POST");
const CONFIG_PUT = schema("/nodes/{node}/lxc/{vmid}/config", "PUT");
const base = { node: "pve1", vmid: "105", ostemplate: "local:vztmpl/debian-12-standard_12.7-1_amd64.tar.zst" };

const create = (extra: Record<string, unknown>) => validateParameters(CREATE, { ...base, ...extra });

describe("sandbox parameter verification (PVE::JSONSchema semantics)", () => {
  it("the subset names its origin", () => {
    assert.match(subset._origin, /Proxmox VE 9\.1/);
    assert.match(subset._origin, /AGPL-3\.0/);
  });

  describe("accepts what Proxmox accepts", () => {
    const good: Array<[string, Record<string, unknown>]> = [
      ["a minimal create", {}],
      ["a DHCP net0", { net0: "name=eth0,bridge=vmbr0,ip=dhcp" }],
      ["a static net0 with every common key", { net0: "name=eth0,bridge=vmbr0,ip=10.0.0.5/24,gw=10.0.0.1,hwaddr=BC:24:11:00:00:01,tag=20,firewall=1,mtu=1500,rate=12.5" }],
      ["net31 (the last NIC)", { net31: "name=eth31" }],
      ["rootfs as storage:size", { rootfs: "local-lvm:8" }],
      ["rootfs with the default key and options", { rootfs: "volume=local-lvm:8,mountoptions=noatime;nodev,quota=1" }],
      ["features with on/yes booleans inside the property string", { features: "nesting=1,keyctl=on,fuse=yes" }],
      ["mp0 with volume and mp", { mp0: "local-lvm:4,mp=/data,backup=1" }],
      ["tags separated by ; , and spaces", { tags: "Preview;branch-1,ci team" }],
      ["booleans as 0 and 1", { start: "1", onboot: "0", unprivileged: "1" }],
      ["JSON booleans and numbers", { start: true, unprivileged: false, memory: 1024, cores: 2 }],
      ["an enum value", { ostype: "alpine", cmode: "shell" }],
      ["dns names", { hostname: "pr-42.preview", searchdomain: "example.com example.org" }],
      ["a NUL-separated env and an entrypoint", { env: "A=1\0B=two words", entrypoint: "/usr/bin/app --serve" }],
      ["nameserver list with IPv6", { nameserver: "1.1.1.1 2606:4700::1111" }],
      ["integer bounds inclusive", { cores: "8192", memory: "16", swap: "0" }],
    ];
    for (const [name, params] of good) {
      it(name, () => assert.equal(create(params), undefined));
    }
    it("config PUT with delete, digest and revert", () => {
      assert.equal(validateParameters(CONFIG_PUT, { node: "pve1", vmid: "105", delete: "description,mp0", digest: "a".repeat(40), revert: "env" }), undefined);
    });
  });

  describe("rejects what Proxmox rejects, naming the parameter", () => {
    const bad: Array<[string, Record<string, unknown>, string, string | RegExp]> = [
      ["an unknown parameter", { foo: "1" }, "foo", "property is not defined in schema and the schema does not allow additional properties"],
      ["net0=bogus", { net0: "bogus" }, "net0", "invalid format - value without key, but schema does not define a default key\n"],
      ["net0 without its required name", { net0: "bridge=vmbr0" }, "net0", "invalid format - format error\nnet0.name: property is missing and it is not optional\n"],
      ["net0 with an unknown key", { net0: "name=eth0,colour=red" }, "net0", "invalid format - invalid key in comma-separated list property: colour\n"],
      ["net0 with a duplicate key", { net0: "name=eth0,name=eth1" }, "net0", "invalid format - duplicate key in comma-separated list property: name\n"],
      ["net0 with a bad ip", { net0: "name=eth0,ip=10.0.0.300/24" }, "net0", /net0\.ip: invalid format - value does not look like a valid ipv4 network configuration/],
      ["net0 with a multicast MAC", { net0: "name=eth0,hwaddr=01:00:5E:00:00:01" }, "net0", /net0\.hwaddr: invalid format - value does not look like a valid unicast MAC address/],
      ["net0 with a VLAN tag out of range", { net0: "name=eth0,tag=5000" }, "net0", /net0\.tag: value must have a maximum value of 4094/],
      ["net32 (there are only 32 NICs)", { net32: "name=eth0" }, "net32", "property is not defined in schema and the schema does not allow additional properties"],
      ["a non-integer vmid", { vmid: "abc" }, "vmid", "type check ('integer') failed - got 'abc'"],
      ["a vmid below 100", { vmid: "99" }, "vmid", "invalid format - value does not look like a valid VM ID\n"],
      ["a vmid above the maximum", { vmid: "1000000000" }, "vmid", "invalid format - value does not look like a valid VM ID\n"],
      ["a missing ostemplate", { ostemplate: undefined }, "ostemplate", "property is missing and it is not optional"],
      ["rootfs malformed (a key without value)", { rootfs: "local-lvm:8,size=" }, "rootfs", "invalid format - missing key in comma-separated list property\n"],
      ["rootfs with a bad size", { rootfs: "local-lvm:8,size=huge" }, "rootfs", /rootfs\.size: invalid format - value does not look like a valid disk size: huge/],
      ["rootfs with two default values", { rootfs: "local-lvm:8,local-lvm:9" }, "rootfs", "invalid format - duplicate key in comma-separated list property: volume\n"],
      ["rootfs with a mount option outside the pattern", { rootfs: "local-lvm:8,mountoptions=sync" }, "rootfs", /rootfs\.mountoptions: value does not match the regex pattern/],
      ["features with an unknown flag", { features: "nesting=1,docker=1" }, "features", "invalid format - invalid key in comma-separated list property: docker\n"],
      ["features with a non-boolean flag", { features: "nesting=maybe" }, "features", /features\.nesting: type check \('boolean'\) failed - got 'maybe'/],
      ["a tag with invalid characters", { tags: "ok;not/ok" }, "tags", "invalid format - invalid characters in tag\n"],
      ["boolean as 'true' in a form body", { start: "true" }, "start", "type check ('boolean') failed - got 'true'"],
      ["boolean as 2", { onboot: "2" }, "onboot", "type check ('boolean') failed - got '2'"],
      ["an enum outside its values", { ostype: "windows" }, "ostype", "value 'windows' does not have a value in the enumeration 'debian, devuan, ubuntu, centos, fedora, opensuse, archlinux, alpine, gentoo, nixos, unmanaged'"],
      ["memory below its minimum", { memory: "8" }, "memory", "value must have a minimum value of 16"],
      ["cores above its maximum", { cores: "9000" }, "cores", "value must have a maximum value of 8192"],
      ["a number that is not one", { cpulimit: "1.2.3" }, "cpulimit", "type check ('number') failed - got '1.2.3'"],
      ["a hostname that is not a DNS name", { hostname: "under_score" }, "hostname", "invalid format - value does not look like a valid DNS name\n"],
      ["a description over maxLength", { description: "x".repeat(8193) }, "description", "value may only be 8192 characters long"],
      ["a password under minLength", { password: "abc" }, "password", "value must be at least 5 characters long"],
      ["a bad node name (path parameter)", { node: "-bad" }, "node", "invalid format - value does not look like a valid node name\n"],
      ["a storage id with illegal characters", { storage: "local lvm" }, "storage", "invalid format - storage ID 'local lvm' contains illegal characters\n"],
      ["env outside its pattern", { env: "NOT VALID" }, "env", "value does not match the regex pattern"],
      ["an integer given as a JSON boolean", { memory: true }, "memory", "type check ('integer') failed - got JSON::PP::Boolean"],
      ["a string given as a JSON array", { hostname: ["a"] }, "hostname", "type check ('string') failed - got ARRAY"],
    ];
    for (const [name, params, key, expected] of bad) {
      it(name, () => {
        const errors = create(params);
        assert.ok(errors, "expected errors");
        assert.ok(key in errors!, `errors name ${Object.keys(errors!).join(", ")}, not ${key}`);
        if (typeof expected === "string") assert.equal(errors![key], expected);
        else assert.match(errors![key], expected);
      });
    }
    it("reports every problem at once", () => {
      const errors = create({ foo: "1", net0: "bogus", vmid: "abc" });
      assert.deepEqual(Object.keys(errors!).sort(), ["foo", "net0", "vmid"]);
    });
    it("config PUT refuses create-only parameters like password", () => {
      const errors = validateParameters(CONFIG_PUT, { node: "pve1", vmid: "105", password: "secret123" });
      assert.equal(errors!.password, "property is not defined in schema and the schema does not allow additional properties");
    });
    it("digest longer than 40 characters", () => {
      const errors = validateParameters(CONFIG_PUT, { node: "pve1", vmid: "105", digest: "a".repeat(41) });
      assert.equal(errors!.digest, "value may only be 40 characters long");
    });
    it("an OCI reference outside the schema's pattern", () => {
      const errors = validateParameters(schema("/nodes/{node}/storage/{storage}/oci-registry-pull", "POST"), { node: "pve1", storage: "local", reference: "Not A Reference" });
      assert.equal(errors!.reference, "value does not match the regex pattern");
    });
  });
});
