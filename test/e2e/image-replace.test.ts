// A new image replaces an app container with no failed request: a PreviewEnvironment serving an
// app image through nginx, on real LXC containers, gets a new image while a client keeps requesting
// its URL. The new container is created first, the route moves to it, and only then is the old one
// deleted. The app under test is `appImage` at the top of ./image-replace.ts (one function).
import { strict as assert } from "assert";
import { requireLxc } from "../support/lxc";
import { routeFile, startWorld, stopWorld, type World } from "../../devstack/world";
import { appImage, FQDN, measureImageReplace, REVISIONS } from "../../devstack/image-replace";

describe("e2e: a new image replaces the app container with 0 failed requests (LXC)", function () {
  this.timeout(900_000);
  let world: World | undefined;

  before(async function () {
    // Skips locally without root/LXC; fails under CI=true, which runs as root with lxc installed.
    requireLxc(this);
    world = await startWorld(this, "lxc");
  });
  after(async () => {
    await stopWorld(world);
  });

  it("up with a new image: create-before-delete, the route follows before the old container goes, no request fails", async () => {
    const w = world!;
    w.sandbox.resetRequests();
    const measured = await measureImageReplace(w, { stack: "image-replace", log: (line) => console.log(`      ${line}`) });
    console.log(`      failed requests during the image replace: ${measured.failed} of ${measured.requests}; longest time without an answer ${measured.longestGapMs} ms (up took ${measured.upMs} ms)`);

    assert.equal(measured.operations["preview-container"], "replace", JSON.stringify(measured.operations));
    assert.equal(measured.operations["preview-http"], "update", "the route follows the new container");
    assert.notEqual(measured.replacement.vmid, measured.old.vmid);

    // Create-before-delete, and the new revision answered through the route before the old container was deleted.
    const requests = w.sandbox.requests;
    const created = requests.find((r) => r.method === "POST" && r.path.endsWith("/lxc") && Number(r.params.vmid) === measured.replacement.vmid);
    const deleted = requests.find((r) => r.method === "DELETE" && r.path.endsWith(`/lxc/${measured.old.vmid}`));
    assert.ok(created && deleted && created.time < deleted.time, "the new container is created before the old one is deleted");
    assert.ok(measured.firstNewAnswerAt && measured.firstNewAnswerAt <= deleted.time, `the URL answered from the new container (${measured.firstNewAnswerAt?.toISOString()}) before the old one was deleted (${deleted.time.toISOString()})`);
    assert.ok((measured.answers[appImage(w, REVISIONS[1]).body] ?? 0) > 0, JSON.stringify(measured.answers));

    assert.deepEqual(measured.failures, [], `failed requests: ${measured.failed} of ${measured.requests}`);
    assert.equal(measured.failed, 0);
    // Everything is destroyed after the measurement: no container, no route.
    assert.deepEqual(w.sandbox.containers(), []);
    assert.throws(() => routeFile(w, "http", `${FQDN}.conf`));
  });

  it("with a fixed vmid the old container must go first (delete-before-replace): no answer between its delete and the new one's create; the downtime is printed", async () => {
    const w = world!;
    w.sandbox.resetRequests();
    const vmid = 4242;
    const measured = await measureImageReplace(w, { stack: "image-replace-pinned", vmid, log: (line) => console.log(`      ${line}`) });
    console.log(`      fixed vmid: ${measured.failed} of ${measured.requests} requests failed; longest time without an answer ${measured.longestGapMs} ms (up took ${measured.upMs} ms); answers ${JSON.stringify(measured.answers)}; first failures ${JSON.stringify(measured.failures)}`);
    assert.equal(measured.operations["preview-container"], "replace");
    assert.equal(measured.replacement.vmid, vmid);
    const requests = w.sandbox.requests;
    const deleted = requests.findIndex((r) => r.method === "DELETE" && r.path.endsWith(`/lxc/${vmid}`));
    const created = requests.findIndex((r, i) => i > deleted && r.method === "POST" && r.path.endsWith("/lxc") && Number(r.params.vmid) === vmid);
    assert.ok(deleted >= 0 && created > deleted, "the old container is deleted before its replacement is created");
    const [from, to] = [requests[deleted].time, requests[created].time];
    assert.deepEqual(measured.answeredAt.filter((t) => t > from && t < to), [], "the URL cannot answer while no container holds the vmid");
    assert.ok((measured.answers[appImage(w, REVISIONS[1]).body] ?? 0) > 0, "the new revision answers after the up");
    assert.deepEqual(w.sandbox.containers(), []);
  });
});
