// The fault matrix's reading and rendering: the reporter finds the cells by file and title alone
// (it runs in mocha's main process; under --parallel the tests do not), so both must round-trip.
import { strict as assert } from "assert";
import { CELL_FILE, parseCell, renderMatrix } from "../support/fault-matrix";

describe("fault matrix (test/support/fault-matrix.ts)", () => {
  it("reads a cell back from its title, whatever the resource's and the fault's own words", () => {
    assert.deepEqual(parseCell("DnsRecord (PowerDNS API) refresh / PowerDNS 5xx once"), { resource: "DnsRecord (PowerDNS API)", operation: "refresh", fault: "PowerDNS 5xx once" });
    assert.deepEqual(parseCell("LaunchpadContainer delete / failed task (vzshutdown, vzstop)"), { resource: "LaunchpadContainer", operation: "delete", fault: "failed task (vzshutdown, vzstop)" });
    assert.deepEqual(parseCell("ProxyRoute update / a / b"), { resource: "ProxyRoute", operation: "update", fault: "a / b" });
    assert.equal(parseCell("LaunchpadContainer creates / 5xx"), undefined, "only the four operations");
    assert.equal(parseCell("leaves nothing behind"), undefined);
    assert.equal(parseCell(" create / 5xx"), undefined, "a resource is named");
  });

  it("knows the matrix files by name only", () => {
    assert.ok(CELL_FILE.test("/x/test/host/fault-matrix-dns.test.ts"));
    assert.ok(CELL_FILE.test("C:\\x\\test\\host\\fault-matrix-acme.test.js"));
    assert.ok(!CELL_FILE.test("/x/test/host/dns.test.ts"));
    assert.ok(!CELL_FILE.test("/x/fault-matrix-dns/other.test.ts"));
    assert.ok(!CELL_FILE.test("/x/test/host/my-fault-matrix-dns.test.ts"));
  });

  it("prints a row per resource and operation, the cells in order, and the count passing", () => {
    const text = renderMatrix([
      { resource: "DnsRecord", operation: "create", fault: "5xx", passed: true },
      { resource: "ProxyRoute", operation: "delete", fault: "nginx -t failing", passed: false },
      { resource: "DnsRecord", operation: "create", fault: "REFUSED", passed: true },
    ]);
    assert.equal(text, [
      "fault matrix (resource operation  fault: result)",
      "  DnsRecord create   5xx: pass | REFUSED: pass",
      "  ProxyRoute delete  nginx -t failing: FAIL",
      "fault matrix: 2/3 cells passing",
      "",
    ].join("\n"));
    assert.equal(renderMatrix([]), "");
  });
});
