import { strict as assert } from "assert";
import { DEFAULT_INIT, initCommandOf, kindOf, sshUnavailableReason } from "../../../provider/container/kind";
import { OWNED_KEYS, overlayPropertyString, parseNet0, renderNet0 } from "../../../provider/container/render";

describe("container property strings: keys PVE set are kept", () => {
  const appNet0 = "name=eth0,bridge=vmbr0,hwaddr=BC:24:11:00:00:01,ip=dhcp,host-managed=1,type=veth";

  it("keeps host-managed, type and rate when the inputs rewrite net0", () => {
    const next = overlayPropertyString("net0", appNet0, "name=eth0,bridge=vmbr1,hwaddr=BC:24:11:00:00:01,ip=dhcp,tag=20");
    assert.equal(next, "name=eth0,bridge=vmbr1,ip=dhcp,tag=20,hwaddr=BC:24:11:00:00:01,host-managed=1,type=veth");
    // The MAC the state kept (upper-cased) does not override Proxmox's own spelling of it.
    assert.equal(overlayPropertyString("net0", appNet0.replace("BC:24:11", "bc:24:11"), "name=eth0,bridge=vmbr0,hwaddr=BC:24:11:00:00:01,ip=dhcp"), appNet0.replace("BC:24:11", "bc:24:11"));
    assert.equal(overlayPropertyString("net0", undefined, "name=eth0,bridge=vmbr0,hwaddr=BC:24:11:00:00:01,ip=dhcp"), "name=eth0,bridge=vmbr0,hwaddr=BC:24:11:00:00:01,ip=dhcp");
    const limited = overlayPropertyString("net0", `${appNet0},rate=10`, "name=eth0,bridge=vmbr0,ip=10.0.0.5/24,gw=10.0.0.1");
    assert.equal(limited, "name=eth0,bridge=vmbr0,ip=10.0.0.5/24,gw=10.0.0.1,hwaddr=BC:24:11:00:00:01,host-managed=1,type=veth,rate=10");
  });

  it("drops owned keys the inputs no longer give (a VLAN tag, a firewall, an IPv6 address)", () => {
    const next = overlayPropertyString("net0", `${appNet0},tag=20,firewall=1,ip6=dhcp`, "name=eth0,bridge=vmbr0,ip=dhcp");
    assert.equal(next, "name=eth0,bridge=vmbr0,ip=dhcp,hwaddr=BC:24:11:00:00:01,host-managed=1,type=veth");
  });

  it("gives the current text back verbatim when the owned keys did not change, whatever their order", () => {
    assert.equal(overlayPropertyString("net0", appNet0, "name=eth0,bridge=vmbr0,hwaddr=BC:24:11:00:00:01,ip=dhcp"), appNet0);
    assert.equal(overlayPropertyString("net0", appNet0, "ip=dhcp,bridge=vmbr0,name=eth0"), appNet0);
  });

  it("features: owned flags from the inputs, others (mount, mknod) kept, unset when nothing is left", () => {
    assert.equal(overlayPropertyString("features", "nesting=1,mount=nfs", "keyctl=1,nesting=1"), "keyctl=1,nesting=1,mount=nfs");
    assert.equal(overlayPropertyString("features", "nesting=1,mount=nfs", undefined), "mount=nfs");
    assert.equal(overlayPropertyString("features", "nesting=1,keyctl=1", undefined), undefined);
    assert.equal(overlayPropertyString("features", undefined, "nesting=1"), "nesting=1");
  });

  it("owns exactly the net0 keys renderNet0 can write and parseNet0 reads (hwaddr stays Proxmox's unless given)", () => {
    const everything = renderNet0({ bridge: "vmbr1", vlan: 20, firewall: true, mtu: 1450, ipv4: { address: "10.0.0.5/24", gateway: "10.0.0.1" }, ipv6: { address: "fd00::5/64", gateway: "fd00::1" } });
    const keys = everything.split(",").map((part) => part.split("=")[0]).sort();
    assert.deepEqual(keys, [...OWNED_KEYS.net0].sort());
    // A PVE-owned key never reads as drift.
    assert.deepEqual(parseNet0(appNet0).network, parseNet0("name=eth0,bridge=vmbr0,ip=dhcp").network);
  });
});

describe("container kind (pve-container Create.pm's rule, read back from the config)", () => {
  it("is system without an entrypoint or with /sbin/init, application with any other command", () => {
    assert.equal(kindOf(undefined), "system");
    assert.equal(kindOf(""), "system");
    assert.equal(kindOf("/sbin/init"), "system");
    assert.equal(kindOf("'/sbin/init' --log-level=info"), "system");
    assert.equal(kindOf("node server.js"), "application");
    assert.equal(kindOf("/usr/local/bin/docker-entrypoint.sh node"), "application");
    assert.equal(kindOf("/lib/systemd/systemd"), "application", "PVE compares with /sbin/init literally");
    assert.equal(initCommandOf(undefined), DEFAULT_INIT);
    assert.equal(initCommandOf("node server.js"), "node server.js");
  });

  it("reads the entrypoint as PVE quotes it: double quotes with escapes, blanks around it", () => {
    assert.equal(kindOf('"/sbin/init" --log-level=info'), "system");
    assert.equal(kindOf('"/usr/bin/my app" --flag'), "application");
    assert.equal(kindOf('"/sbin/init\\x"'), "application", "an escaped character is part of the word");
    assert.equal(kindOf("   "), "system", "blank is no entrypoint");
    assert.equal(kindOf("  /sbin/init  "), "system");
    assert.equal(initCommandOf("   "), DEFAULT_INIT);
    assert.equal(initCommandOf("  node server.js \n"), "node server.js");
  });

  it("the refusal names the field, the image's entrypoint and what to do instead", () => {
    const deploy = sshUnavailableReason("deploy", { vmid: 105, initCommand: "node server.js" });
    assert.match(deploy, /`deploy`/);
    assert.match(deploy, /CT 105 is an application container/);
    assert.match(deploy, /`node server\.js`/);
    assert.match(deploy, /system image/);
    assert.match(deploy, /bake the code into the image/);
    assert.match(sshUnavailableReason("services.ssh", { initCommand: "nginx -g 'daemon off;'" }), /`services\.ssh`.*`nginx -g 'daemon off;'`/);
  });
});
