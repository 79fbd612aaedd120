// Task exit statuses and UPIDs at their edges (provider/proxmox/tasks.ts, upid.ts).
import { strict as assert } from "assert";
import { isUpid, taskWarnings } from "../../../provider/proxmox";

const UPID = "UPID:pve1:0000A1B2:00C0FFEE:6789ABCD:vzcreate:105:root@pam!ci:";

describe("task statuses and UPIDs", () => {
  it("WARNINGS: n is exactly that, with any number of digits", () => {
    assert.equal(taskWarnings("WARNINGS: 12"), 12);
    assert.equal(taskWarnings("WARNINGS: 0"), 0);
    assert.equal(taskWarnings("x WARNINGS: 1"), undefined);
    assert.equal(taskWarnings("WARNINGS: 1 more"), undefined);
    assert.equal(taskWarnings("OK "), undefined);
  });

  it("isUpid: only a string of UPID shape", () => {
    assert.equal(isUpid(UPID), true);
    assert.equal(isUpid(42), false);
    assert.equal(isUpid(null), false);
    assert.equal(isUpid({ toString: () => UPID }), false);
    assert.equal(isUpid([UPID]), false);
  });
});
