import { strict as assert } from "assert";
import { isUpid, parseUpid } from "../../../provider/proxmox";

describe("parseUpid", () => {
  it("splits a UPID into node, pid, pstart, starttime, type, id and user", () => {
    assert.deepEqual(parseUpid("UPID:pve1:000A1B2C:0123ABCD:65F0A1B2:vzcreate:105:root@pam!ci:"), {
      upid: "UPID:pve1:000A1B2C:0123ABCD:65F0A1B2:vzcreate:105:root@pam!ci:",
      node: "pve1",
      pid: 0x000a1b2c,
      pstart: 0x0123abcd,
      starttime: 0x65f0a1b2,
      type: "vzcreate",
      id: "105",
      user: "root@pam!ci",
    });
  });
  it("accepts a 9-digit pstart, an empty id and hyphenated node names", () => {
    const task = parseUpid("UPID:pve-node-2:00001234:1A2B3C4D5:65F0A1B2:imgcopy::ci@pve:");
    assert.equal(task.node, "pve-node-2");
    assert.equal(task.pstart, 0x1a2b3c4d5);
    assert.equal(task.id, "");
    assert.equal(task.type, "imgcopy");
  });
  it("rejects anything else, naming it", () => {
    for (const bad of ["", "UPID:pve1:1:2:3:vzcreate:105:root@pam:", "UPID:pve1:000A1B2C:0123ABCD:65F0A1B2:vzcreate:105:root@pam", "105"]) {
      assert.equal(isUpid(bad), false, bad);
      assert.throws(() => parseUpid(bad), /not a Proxmox task id/);
    }
  });
});
