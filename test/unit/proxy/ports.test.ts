import * as assert from "assert";
import { allocatePort, claimedStreamPorts, listeningPorts } from "../../../provider/proxy/ports";

describe("stream port bookkeeping", () => {
  it("reads claimed ports per protocol from listen lines, with or without an address", () => {
    const claimed = claimedStreamPorts([
      "server {\n    listen 2000;\n    proxy_pass a:22;\n}\n",
      "server {\n    listen 127.0.0.1:2001 udp;\n}\nserver {\n  listen [::1]:2002 reuseport;\n}\n",
      "# listen 9999;\n",
    ]);
    assert.deepStrictEqual([...claimed.tcp].sort(), [2000, 2002]);
    assert.deepStrictEqual([...claimed.udp], [2001]);
  });

  it("reads listening ports from ss -Hln output", () => {
    const ss = [
      "LISTEN 0      511          0.0.0.0:80         0.0.0.0:*",
      "LISTEN 0      128        127.0.0.1:2222       0.0.0.0:*",
      "LISTEN 0      511             [::]:443           [::]:*",
      "UNCONN 0      0    [fe80::1]%eth0:546           [::]:*",
      "",
    ].join("\n");
    assert.deepStrictEqual([...listeningPorts(ss)].sort((a, b) => a - b), [80, 443, 546, 2222]);
  });

  it("allocates the lowest free port and reports a full range", () => {
    assert.strictEqual(allocatePort({ from: 2000, to: 2005 }, new Set([2000, 2001, 2003])), 2002);
    assert.strictEqual(allocatePort({ from: 2000, to: 2001 }, new Set([2000, 2001])), undefined);
    assert.strictEqual(allocatePort({ from: 2000, to: 2001 }, new Set([2000])), 2001, "the range includes its last port");
  });
});
