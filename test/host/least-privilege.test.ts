// LaunchpadContainer through the real dynamic-provider host with a privilege-separated token that
// lacks one privilege: the create fails with PVE's 403 naming it and where, sent once, nothing left.
import { strict as assert } from "assert";
import { LaunchpadContainer } from "../../src/container";
import { startSandbox, type Sandbox } from "../../sandbox";
import { deriveRole, OWNER_ROLE, PROVIDER_CALLS } from "../../sandbox/leastPrivilege";
import { SandboxClient } from "../sandbox/helpers";
import { EngineError, TestEngine } from "../../devstack/engine";

describe("LaunchpadContainer with a least-privilege token", function () {
  this.timeout(120_000);
  let sandbox: Sandbox;
  let root: SandboxClient;
  const engines: TestEngine[] = [];

  before(async () => {
    sandbox = await startSandbox({ taskDurationsMs: { vzcreate: 20, vzstart: 10, ociregistrypull: 20 } });
    root = new SandboxClient(sandbox);
  });
  after(async () => {
    for (const engine of engines) await engine.close();
    await root?.close();
    await sandbox?.close();
  });

  /** A role, user and privsep token as the README's pveum commands make them. */
  async function tokenWith(name: string, privs: string[]): Promise<string> {
    assert.equal((await root.call("POST", "/access/roles", { roleid: name, privs: privs.join(",") })).status, 200);
    await root.call("POST", "/access/users", { userid: `${name.toLowerCase()}@pve` });
    const created = (await root.call("POST", `/access/users/${name.toLowerCase()}@pve/token/ci`, { privsep: 1 })).body.data;
    await root.call("PUT", "/access/acl", { path: "/", roles: name, users: `${name.toLowerCase()}@pve` });
    await root.call("PUT", "/access/acl", { path: "/", roles: name, tokens: created["full-tokenid"] });
    return `${created["full-tokenid"]}=${created.value}`;
  }

  const engineWith = (stack: string, apiToken: string) => {
    const engine = new TestEngine({
      project: "launchpad-lp", stack,
      config: { "launchpad:endpoint": sandbox.endpoint, "launchpad:fingerprint": sandbox.fingerprint },
      secretConfig: { "launchpad:apiToken": apiToken },
    });
    engines.push(engine);
    return engine;
  };
  const program = () => {
    const ct = new LaunchpadContainer("app", { hostname: "lp-app", image: "docker.io/library/nginx:1.27" });
    return { vmid: ct.vmid };
  };

  it("creates, updates in place (config and resize) and destroys from an image with only the derived role", async () => {
    const owner = Object.keys((await root.call("GET", `/access/roles/${OWNER_ROLE}`)).body.data);
    const engine = engineWith("full", await tokenWith("Full", deriveRole(PROVIDER_CALLS, owner)));
    await engine.up(program);
    assert.equal(sandbox.containers().length, 1);
    await engine.up(() => {
      const ct = new LaunchpadContainer("app", { hostname: "lp-app", image: "docker.io/library/nginx:1.27", cores: 2, tags: ["x"], diskSize: 10 });
      return { vmid: ct.vmid };
    });
    assert.equal(sandbox.containers()[0].config.cores, 2);
    await engine.destroy();
    assert.deepEqual(sandbox.containers(), []);
  });

  it("without Datastore.AllocateTemplate the pull is refused once with a 403 naming it and its path", async () => {
    const owner = Object.keys((await root.call("GET", `/access/roles/${OWNER_ROLE}`)).body.data);
    const privs = deriveRole(PROVIDER_CALLS, owner).filter((priv) => priv !== "Datastore.AllocateTemplate");
    const engine = engineWith("short", await tokenWith("Short", privs));
    sandbox.resetRequests();
    const error = await engine.up(() => {
      const ct = new LaunchpadContainer("app", { hostname: "lp-short", image: "docker.io/library/nginx:1.28" });
      return { vmid: ct.vmid };
    }).then(() => undefined, (e: unknown) => e);
    assert.ok(error instanceof EngineError, `expected the up to fail, got ${error}`);
    assert.match(error.message, /403 Permission check failed \(\/storage\/local, Datastore\.AllocateTemplate\) - the credentials lack Datastore\.AllocateTemplate on \/storage\/local/);
    const pulls = sandbox.requests.filter((r) => /oci-registry-pull$/.test(r.path));
    assert.deepEqual(pulls.map((r) => r.status), [403], "sent once, never retried");
    assert.deepEqual(sandbox.containers(), []);
  });
});
