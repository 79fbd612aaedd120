// Feature flags PVE keeps for root@pam (provider/container/rootOnly.ts): refused in `check` for a token or
// another user, naming the flag; allowed for root@pam's password; not judged while credentials are unknown.
import { strict as assert } from "assert";
import { rootOnlyProblems } from "../../../provider/container/rootOnly";
import { setStackConfig } from "../../../provider/stackConfig";

const FINGERPRINT = Array.from({ length: 32 }, () => "AB").join(":");
const base = { endpoint: "https://pve.example:8006", fingerprint: FINGERPRINT };
const token = { ...base, apiToken: "root@pam!ci=00000000-0000-4000-8000-000000000000" };
const password = (username: string) => ({ ...base, username, password: "correct horse battery" });
const fields = (problems: Array<{ property: string }>) => problems.map((p) => p.property);

describe("root-only feature flags", () => {
  const saved: Record<string, string | undefined> = {};
  before(() => {
    for (const key of Object.keys(process.env).filter((k) => k.startsWith("PROXMOX_VE_"))) {
      saved[key] = process.env[key];
      delete process.env[key];
    }
    setStackConfig({});
  });
  after(() => Object.assign(process.env, saved));

  it("nothing to judge without features, or with features that are not an object", () => {
    assert.deepEqual(rootOnlyProblems({ connection: token }), []);
    assert.deepEqual(rootOnlyProblems({ features: "nesting=1", connection: token }), []);
    assert.deepEqual(rootOnlyProblems({ features: { keyctl: false, fuse: false }, connection: token }), []);
  });

  it("nesting on an unprivileged container is anyone's", () => {
    assert.deepEqual(rootOnlyProblems({ features: { nesting: true }, connection: token }), []);
    assert.deepEqual(rootOnlyProblems({ features: { nesting: true }, unprivileged: true, connection: token }), []);
  });

  it("a token may not set keyctl or fuse: each flag named, with what to do", () => {
    const problems = rootOnlyProblems({ features: { nesting: true, keyctl: true, fuse: true }, connection: token });
    assert.deepEqual(fields(problems), ["features.keyctl", "features.fuse"]);
    assert.equal(problems[0].reason, "Proxmox lets only root@pam (a password login, never an API token) set 'keyctl': leave it off, or deploy with root@pam's password");
    assert.match(problems[1].reason, /set 'fuse'/);
  });

  it("on a privileged container even nesting is root@pam's", () => {
    const problems = rootOnlyProblems({ features: { nesting: true }, unprivileged: false, connection: token });
    assert.deepEqual(fields(problems), ["features.nesting"]);
    assert.match(problems[0].reason, /^Proxmox lets only root@pam \(a password login, never an API token\) set feature flags on a privileged container \(unprivileged: false\)/);
  });

  it("root@pam (or root) by password may; another user may not", () => {
    assert.deepEqual(rootOnlyProblems({ features: { keyctl: true }, unprivileged: false, connection: password("root@pam") }), []);
    assert.deepEqual(rootOnlyProblems({ features: { fuse: true }, connection: password("root") }), []);
    assert.deepEqual(fields(rootOnlyProblems({ features: { fuse: true }, connection: password("admin@pve") })), ["features.fuse"]);
  });

  it("credentials not known yet: nothing refused here (the create reports them)", () => {
    assert.deepEqual(rootOnlyProblems({ features: { keyctl: true } }), []);
  });

  it("the stack's credentials count when the resource has none", () => {
    setStackConfig({ "launchpad:endpoint": base.endpoint, "launchpad:fingerprint": FINGERPRINT, "launchpad:apiToken": token.apiToken });
    try {
      assert.deepEqual(fields(rootOnlyProblems({ features: { keyctl: true } })), ["features.keyctl"]);
    } finally {
      setStackConfig({});
    }
  });
});
