import { strict as assert } from "assert";
import { ProxmoxClient, taskDurations } from "../../../provider/proxmox";

describe("ProxmoxClient.chainExpectation (a create and the start it forks, as one wait)", () => {
  // taskDurations is the process's: an endpoint of its own per case keeps the cases apart.
  const clientAt = (name: string) => new ProxmoxClient({ endpoint: `https://${name}.chain.test:8006`, apiToken: "root@pam!t=00000000-0000-0000-0000-000000000000" });

  it("nothing known of either task: undefined (the wait then backs off)", () => {
    const client = clientAt("unknown");
    assert.equal(client.chainExpectation("vzcreate", "vzstart"), undefined);
    taskDurations.observe(`${client.connection.endpoint}|vzcreate`, 8_000, 1_000);
    assert.equal(client.chainExpectation("vzcreate", "vzstart"), undefined, "one of the two is not enough");
  });

  it("each task known: their expected ends and their spreads add up", () => {
    const client = clientAt("parts");
    taskDurations.observe(`${client.connection.endpoint}|vzcreate`, 8_000, 1_000);
    taskDurations.observe(`${client.connection.endpoint}|vzstart`, 2_000, 1_000);
    assert.deepEqual(client.chainExpectation("vzcreate", "vzstart"), { expectedMs: 10_000, spreadMs: 2_000 });
  });

  it("the pair seen as one wins over the sum of its parts", () => {
    const client = clientAt("pair");
    taskDurations.observe(`${client.connection.endpoint}|vzcreate`, 8_000, 1_000);
    taskDurations.observe(`${client.connection.endpoint}|vzstart`, 2_000, 1_000);
    taskDurations.observe(`${client.connection.endpoint}|vzcreate>vzstart`, 9_500, 100);
    assert.deepEqual(client.chainExpectation("vzcreate", "vzstart"), { expectedMs: 9_500, spreadMs: 950 });
  });
});
