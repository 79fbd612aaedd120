import { strict as assert } from "assert";
import { DEFAULT_TASK_POLL, taskPollDelay, taskWarnings } from "../../../provider/proxmox";

describe("task polling", () => {
  it("starts fast, grows by half, and stays under the 1 s cap", () => {
    assert.deepEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10].map((poll) => taskPollDelay(poll)), [50, 75, 113, 169, 253, 380, 570, 854, 1000, 1000]);
    assert.equal(taskPollDelay(1000, DEFAULT_TASK_POLL), DEFAULT_TASK_POLL.maxMs);
    assert.deepEqual([1, 2, 3].map((poll) => taskPollDelay(poll, { initialMs: 10, maxMs: 25, factor: 3 })), [10, 25, 25]);
  });
  it("counts OK and WARNINGS: n as success, anything else as failure", () => {
    assert.equal(taskWarnings("OK"), 0);
    assert.equal(taskWarnings("WARNINGS: 3"), 3);
    for (const failure of ["unable to create CT 105 - disk full", "job errors", "", undefined, "WARNINGS: many"]) assert.equal(taskWarnings(failure), undefined);
  });
});
