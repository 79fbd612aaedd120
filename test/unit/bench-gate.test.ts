import { strict as assert } from "assert";
import { CreateGate } from "../../bench/gate";

const turn = () => new Promise((resolve) => setImmediate(resolve));
const settled = async (promise: Promise<unknown>, turns = 5) => {
  let done = false;
  void promise.then(() => (done = true));
  for (let i = 0; i < turns; i++) await turn();
  return done;
};

describe("bench create gate", () => {
  it("holds every create until the last stack arrives, then lets them all go", async () => {
    const gate = new CreateGate(3);
    const first = gate.arrive("urn:pulumi:s1::p::launchpad:index:LaunchpadContainer::bench-p3-1");
    const second = gate.arrive("urn:pulumi:s2::p::launchpad:index:LaunchpadContainer::bench-p3-2");
    assert.equal(await settled(first), false);
    assert.equal(await settled(second), false);
    assert.equal(gate.openedAt, undefined);
    const third = gate.arrive("urn:pulumi:s3::p::launchpad:index:LaunchpadContainer::bench-p3-3");
    assert.equal(await settled(Promise.all([first, second, third])), true);
    assert.ok(gate.openedAt! >= gate.startedAt);
  });

  it("does not wait for a stack that ended before its create, and counts a stack once", async () => {
    const gate = new CreateGate(3);
    const first = gate.arrive("urn:a::bench-p3-1");
    gate.ended("bench-p3-1"); // its up ended after its create: not counted again
    assert.equal(await settled(first), false);
    gate.ended("bench-p3-2"); // failed in check: never arrives
    assert.equal(await settled(first), false);
    const third = gate.arrive("urn:c::bench-p3-3");
    assert.equal(await settled(Promise.all([first, third])), true);
  });

  it("lets the stacks go one per turn of the event loop, in the order they arrived", async () => {
    const gate = new CreateGate(3);
    const order: string[] = [];
    const names = ["bench-p3-1", "bench-p3-2", "bench-p3-3"];
    const released = names.map((name) => gate.arrive(`urn:x::${name}`).then(() => order.push(name)));
    await Promise.resolve();
    assert.deepEqual(order, ["bench-p3-1"], "the first at once");
    await turn();
    assert.deepEqual(order, ["bench-p3-1", "bench-p3-2"], "the next a turn later");
    await Promise.all(released);
    assert.deepEqual(order, names);
    // A stack arriving after the gate opened goes at once.
    const late = gate.arrive("urn:x::bench-p3-4");
    assert.equal(await settled(late, 1), true);
  });
});
