// `npm run demo -- --tls acme`, run as a user runs it (its own process, its own servers), on the
// memory backend to stay quick: the certificate is nginx's business, not the container's, so the
// preview's certificate from the demo's Pebble is checked there as on LXC. The demo's last stdout
// line is the verdict read here.
import * as assert from "assert";
import { spawn } from "child_process";
import * as path from "path";
import { requireBinary } from "../../devstack/binaries";

const REPO = path.resolve(__dirname, "..", "..");
const DEMO = path.join(REPO, "demo", "index.ts");

interface DemoLine {
  url: string | null;
  backend: string | null;
  tls: string;
  certIssuer?: string | null;
  leftover: Record<string, number> | null;
  why?: string[];
}

function runDemo(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ["-r", "ts-node/register/transpile-only", DEMO, ...args], {
      cwd: REPO, env: { ...process.env, TS_NODE_TRANSPILE_ONLY: "true" }, stdio: ["ignore", "pipe", "pipe"],
    });
    let stdout = "";
    let stderr = "";
    child.stdout.setEncoding("utf8").on("data", (chunk: string) => { stdout += chunk; });
    child.stderr.setEncoding("utf8").on("data", (chunk: string) => { stderr += chunk; });
    child.on("error", reject);
    child.on("close", (code) => resolve({ code, stdout, stderr }));
  });
}

describe("npm run demo -- --tls acme", function () {
  this.timeout(300_000);

  before(function () {
    // The demo starts these itself; a missing one skips here locally (and fails under CI=true) instead of a demo error.
    for (const [name, pkg] of [["nginx", "nginx-light"], ["sshd", "openssh-server"], ["pdns_server", "pdns-server"], ["sqlite3", "sqlite3"], ["pebble", "pebble"], ["openssl", "openssl"]]) {
      requireBinary(this, name, pkg);
    }
  });

  it("serves the preview a certificate from the demo's Pebble, chaining to Pebble's root, and leaves no challenge, certificate, route or record", async () => {
    const run = await runDemo(["--backend", "memory", "--tls", "acme"]);
    const last = run.stdout.trim().split("\n").at(-1) ?? "";
    let result: DemoLine;
    try {
      result = JSON.parse(last) as DemoLine;
    } catch {
      assert.fail(`the demo's last line is not JSON: ${last}\n${run.stderr.slice(-3000)}`);
    }
    assert.strictEqual(result.tls, "acme");
    assert.strictEqual(result.backend, "memory");
    assert.match(result.url ?? "", /^https:\/\/acme-shop-demo-hello-world\.preview\.test:\d+$/);
    // Set only after a handshake that trusted Pebble's root alone (fetched from Pebble's management API).
    assert.match(result.certIssuer ?? "", /^Pebble Intermediate CA /, run.stderr.slice(-3000));
    assert.deepStrictEqual(result.leftover, { containers: 0, routes: 0, records: 0, challenges: 0, certificates: 0 });
    // On the memory backend nothing runs in the container: that, and only that, keeps the demo from OK.
    assert.deepStrictEqual((result.why ?? []).filter((why) => !why.startsWith("memory backend:")), [], run.stderr.slice(-3000));
    assert.strictEqual(run.code, 1, "the memory backend's demo is not a full success (no app answers)");
    assert.match(run.stderr, /issued by CN=Pebble Intermediate CA [0-9a-f]+: verified/);
  });
});
