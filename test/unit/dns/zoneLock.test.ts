import * as assert from "assert";
import { withZoneLock } from "../../../provider/dns/zoneLock";

/** A write that starts when the lock lets it, and ends when the test says. */
function gated(label: string, started: string[]) {
  let finish!: (ok: boolean) => void;
  const done = new Promise<boolean>((resolve) => { finish = resolve; });
  const write = async () => {
    started.push(label);
    if (!(await done)) throw new Error(`${label} failed`);
    return label;
  };
  return { write, finish };
}
const settle = () => new Promise((resolve) => setImmediate(resolve));

describe("DnsRecord zone lock", () => {
  it("runs writes to one zone one at a time, in order, past a failed one, while other zones go on", async () => {
    const started: string[] = [];
    const [a1, a2, a3, b1] = ["a1", "a2", "a3", "b1"].map((label) => gated(label, started));
    const first = withZoneLock("a.test", a1.write);
    const second = withZoneLock("a.test", a2.write);
    const other = withZoneLock("b.test", b1.write);
    await settle();
    assert.deepStrictEqual(started, ["a1", "b1"], "a2 waits for a1; another zone does not wait");
    a1.finish(true);
    assert.strictEqual(await first, "a1");
    await settle();
    const third = withZoneLock("a.test", a3.write); // arrives while a2 runs
    await settle();
    assert.deepStrictEqual(started, ["a1", "b1", "a2"], "a3 waits for a2");
    a2.finish(false);
    await assert.rejects(second, /a2 failed/);
    await settle();
    assert.deepStrictEqual(started, ["a1", "b1", "a2", "a3"], "a failed write frees the zone");
    a3.finish(true); b1.finish(true);
    assert.deepStrictEqual(await Promise.all([third, other]), ["a3", "b1"]);
  });
});
