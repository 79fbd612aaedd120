// ProxmoxPermission's inputs and diff (provider/acl/schema.ts, diff.ts): what check refuses, naming the
// field, what it hands on with its defaults, what a stored state reads as, and what each change means.
import { strict as assert } from "assert";
import { parsePermissionInputs, parseStoredInputs, UNKNOWN } from "../../provider/acl/schema";
import { CHANGE_TABLE, diffPermission } from "../../provider/acl/diff";

const problems = (raw: Record<string, unknown>) => {
  const result = parsePermissionInputs(raw);
  return result.ok ? [] : result.problems.map((p) => `${p.property}: ${p.reason}`);
};

describe("ProxmoxPermission inputs", () => {
  it("accepts Proxmox ACL paths and hands them on with the role and propagate defaults", () => {
    for (const path of ["/", "/vms/100", "/storage/local", "/pool/dev", "/nodes/pve1", "/sdn/zones/z1", "/access/groups", "/mapping/pci/gpu"]) {
      assert.deepEqual(parsePermissionInputs({ path, user: "dev@pve" }), { ok: true, inputs: { path, role: "PVEVMUser", user: "dev@pve", propagate: true } }, path);
    }
    assert.deepEqual(parsePermissionInputs({ path: "/pool/dev", group: "devs", role: "PVEAuditor", propagate: false, __provider: "serialized" }),
      { ok: true, inputs: { path: "/pool/dev", group: "devs", role: "PVEAuditor", propagate: false } }, "the host's __provider is not an input");
  });

  it("refuses a path that walks ('.' or '..'), is no ACL path, or is too long, naming `path`", () => {
    for (const path of ["/vms/../access", "/vms/./100", "/storage/..", "/pool/dev/."]) {
      assert.deepEqual(problems({ path, user: "dev@pve" }), ["path: must not hold '.' or '..' segments"], path);
    }
    for (const path of ["vms/100", "/etc/passwd", "/vms/100 /", "", "/vms//100"]) {
      assert.deepEqual(problems({ path, user: "dev@pve" }), ["path: must be a Proxmox ACL path such as /vms/100"], JSON.stringify(path));
    }
    assert.ok(problems({ path: "/vms/" + "1".repeat(1100), user: "dev@pve" }).includes("path: must be at most 1024 characters"));
    // The names allowed inside a segment, `.` among them, are not the walking segments themselves.
    assert.deepEqual(problems({ path: "/storage/nfs.backup", user: "dev@pve" }), []);
  });

  it("wants exactly one of user and group, and names every other problem at once", () => {
    assert.deepEqual(problems({ path: "/", user: "dev@pve", group: "devs" }), ["user: Only one of `user` and `group` can be given"]);
    assert.deepEqual(problems({ path: "/" }), ["user: One of `user` and `group` is required"]);
    assert.deepEqual(problems({ path: "/", user: null, group: "devs" }), ["user: Invalid input: expected string, received null"], "null is no user, but not a second subject");
    assert.deepEqual(problems({ path: "/", user: undefined, group: undefined }), ["user: One of `user` and `group` is required"]);
    assert.deepEqual(problems({ path: "vms", user: "dev", role: "bad role", propagate: "yes", extra: 1 }), [
      "path: must be a Proxmox ACL path such as /vms/100",
      "role: must be a role id such as PVEVMUser",
      "user: must be a user id such as alice@pve",
      "propagate: Invalid input: expected boolean, received string",
      "extra: is not a known input",
    ]);
  });

  it("skips values not known yet (preview) and hands the inputs on as given", () => {
    assert.deepEqual(parsePermissionInputs({ path: "/pool/dev", user: UNKNOWN }), { ok: true, inputs: { path: "/pool/dev", user: UNKNOWN } });
    assert.deepEqual(parsePermissionInputs({ path: UNKNOWN, group: "devs" }), { ok: true, inputs: { path: UNKNOWN, group: "devs" } });
    // Even when the unknown value would pass as it stands (the placeholder looks like a role or group id).
    assert.deepEqual(parsePermissionInputs({ path: "/", user: "dev@pve", role: UNKNOWN }), { ok: true, inputs: { path: "/", user: "dev@pve", role: UNKNOWN } });
    assert.deepEqual(parsePermissionInputs({ path: "/", group: UNKNOWN }), { ok: true, inputs: { path: "/", group: UNKNOWN } });
    // A known value is still checked beside an unknown one.
    assert.deepEqual(problems({ path: "/vms/..", user: UNKNOWN }), ["path: must not hold '.' or '..' segments"]);
  });

  it("reads a stored state back as inputs: outputs and nulls dropped, defaults filled", () => {
    assert.deepEqual(parseStoredInputs({ path: "/pool/dev", user: "dev@pve", group: null, schemaVersion: 1, __provider: "x", propagate: undefined }),
      { path: "/pool/dev", role: "PVEVMUser", user: "dev@pve", propagate: true });
    assert.deepEqual(parseStoredInputs({ path: "/", group: "devs", role: "PVEAuditor", propagate: false }), { path: "/", group: "devs", role: "PVEAuditor", propagate: false });
  });
});

describe("ProxmoxPermission diff", () => {
  const olds = { path: "/vms/100", role: "PVEVMUser", user: "dev@pve", propagate: true, connection: { endpoint: "https://a:8006" } };

  it("replaces for the entry's identity, updates propagate in place, ignores the connection", () => {
    assert.deepEqual(CHANGE_TABLE, { path: "replace", role: "replace", user: "replace", group: "replace", propagate: "update", connection: "ignore" });
    assert.deepEqual(diffPermission(olds, { ...olds }), { changes: false, replaces: [] });
    assert.deepEqual(diffPermission(olds, { ...olds, connection: { endpoint: "https://b:8006" } }), { changes: false, replaces: [] });
    assert.deepEqual(diffPermission(olds, { ...olds, propagate: false }), { changes: true, replaces: [] });
    assert.deepEqual(diffPermission(olds, { ...olds, path: "/vms/101", role: "PVEAuditor" }), { changes: true, replaces: ["path", "role"] });
    const { user: _user, ...rest } = olds;
    assert.deepEqual(diffPermission(olds, { ...rest, group: "devs" }), { changes: true, replaces: ["user", "group"] });
  });

  it("a value not known yet is a change: a replace for identity fields", () => {
    assert.deepEqual(diffPermission(olds, { ...olds, user: UNKNOWN }), { changes: true, replaces: ["user"] });
    assert.deepEqual(diffPermission(olds, { ...olds, propagate: UNKNOWN }), { changes: true, replaces: [] });
  });
});
