// `npm run sandbox` contract: one JSON line on stdout once the server answers; the printed token
// lists the nodes, a wrong one gets 401; SIGTERM stops it.
import { strict as assert } from "assert";
import { ChildProcess, spawn } from "child_process";
import * as fs from "fs";
import * as https from "https";
import * as os from "os";
import * as path from "path";
import type { TLSSocket } from "tls";
import { freePort } from "../../devstack/ports";
import { parseArgs } from "../../sandbox/cli";
import { startSandbox } from "../../sandbox";
import { SandboxClient } from "./helpers";

const REPO = path.resolve(__dirname, "..", "..");

interface Printed { endpoint: string; apiToken: string; fingerprint: string; nodes: string[] }

/** GET with the certificate pinned by fingerprint, as a client given only the JSON line would do. */
function pinnedGet(printed: Printed, apiPath: string, token: string): Promise<{ status: number; reason?: string; body: any }> {
  return new Promise((resolve, reject) => {
    const request = https.get(`${printed.endpoint}/api2/json${apiPath}`, {
      rejectUnauthorized: false,
      headers: { Authorization: `PVEAPIToken=${token}` },
    }, (res) => {
      const seen = (res.socket as TLSSocket).getPeerCertificate().fingerprint256;
      if (seen !== printed.fingerprint) return reject(new Error(`certificate ${seen} is not the printed ${printed.fingerprint}`));
      let text = "";
      res.setEncoding("utf8").on("data", (chunk: string) => (text += chunk));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, reason: res.statusMessage, body: text ? JSON.parse(text) : null }));
    });
    request.on("error", reject);
  });
}

describe("sandbox CLI", function () {
  this.timeout(60_000);
  let child: ChildProcess | undefined;

  after(async () => {
    if (child && child.exitCode === null) {
      const exited = new Promise((resolve) => child!.once("exit", resolve));
      child.kill("SIGTERM");
      await exited;
    }
  });

  it("parses its flags", () => {
    assert.deepEqual(parseArgs(["--port", "18006", "--nodes", "a,b", "--task-ms", "vzcreate=8000,vzstart=10", "--ip-delay-ms=5", "--lxc"]), {
      port: 18006, nodes: ["a", "b"], taskDurationsMs: { vzcreate: 8000, vzstart: 10 }, ipDelayMs: 5, backend: "lxc",
    });
    assert.throws(() => parseArgs(["--bogus"]), /unknown option '--bogus'/);
    assert.throws(() => parseArgs(["--task-ms", "vzcreate"]), /TYPE=MS/);
  });

  it("preloads users, tokens, roles and ACLs from --access, refusing what pveum refuses", async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "sandbox-access-"));
    const file = path.join(dir, "access.json");
    const access = {
      users: [{ userid: "ci@pve", tokens: { deploy: { secret: "8d0f3c9e-0000-4000-8000-000000000001", privsep: true } } }],
      roles: { Reader: ["VM.Audit"] },
      acl: [{ path: "/vms", roles: "Reader", users: "ci@pve" }, { path: "/vms", roles: "Reader", tokens: "ci@pve!deploy" }],
    };
    fs.writeFileSync(file, JSON.stringify(access));
    const options = parseArgs(["--access", file]);
    assert.deepEqual(options.access, access);
    const sandbox = await startSandbox(options);
    try {
      const token = { Authorization: "PVEAPIToken=ci@pve!deploy=8d0f3c9e-0000-4000-8000-000000000001" };
      const client = new SandboxClient(sandbox);
      const perms = await client.call("GET", "/access/permissions", { path: "/vms/100" }, { auth: token });
      assert.deepEqual(perms.body.data, { "/vms/100": { "VM.Audit": 1 } });
      await client.close();
    } finally {
      await sandbox.close();
    }
    fs.writeFileSync(file, JSON.stringify({ ...access, roles: { Reader: ["VM.Fly"] } }));
    await assert.rejects(startSandbox(parseArgs(["--access", file])), /role 'Reader': invalid privilege 'VM.Fly'/);
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it("prints one JSON line; its token lists the nodes, a wrong token gets 401; SIGTERM stops it", async () => {
    const port = await freePort();
    child = spawn(process.execPath, ["-r", "ts-node/register/transpile-only", "sandbox/cli.ts", "--port", String(port), "--nodes", "pve1,pve2"], {
      cwd: REPO,
      stdio: ["ignore", "pipe", "pipe"],
    });
    let stderr = "";
    child.stderr!.setEncoding("utf8").on("data", (chunk: string) => (stderr += chunk));
    const line = await new Promise<string>((resolve, reject) => {
      let stdout = "";
      child!.stdout!.setEncoding("utf8").on("data", (chunk: string) => {
        stdout += chunk;
        if (stdout.includes("\n")) resolve(stdout);
      });
      child!.once("exit", (code) => reject(new Error(`sandbox exited with ${code}: ${stderr}`)));
    });
    assert.equal(line.split("\n").filter(Boolean).length, 1, "exactly one line on stdout");
    const printed = JSON.parse(line) as Printed;
    assert.deepEqual(Object.keys(printed), ["endpoint", "apiToken", "fingerprint", "nodes"]);
    assert.equal(printed.endpoint, `https://127.0.0.1:${port}`);
    assert.match(printed.apiToken, /^root@pam![\w-]+=[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
    assert.match(printed.fingerprint, /^([0-9A-F]{2}:){31}[0-9A-F]{2}$/);
    assert.deepEqual(printed.nodes, ["pve1", "pve2"]);

    const nodes = await pinnedGet(printed, "/nodes", printed.apiToken);
    assert.equal(nodes.status, 200);
    assert.deepEqual(nodes.body.data.map((entry: { node: string }) => entry.node), ["pve1", "pve2"]);
    assert.equal(nodes.body.data[0].ssl_fingerprint, printed.fingerprint, "each node reports the certificate it serves, as PVE does");

    const [id] = printed.apiToken.split("=");
    const wrong = await pinnedGet(printed, "/nodes", `${id}=11111111-2222-3333-4444-555555555555`);
    assert.equal(wrong.status, 401);
    assert.equal(wrong.reason, "invalid token value!");
    assert.equal(wrong.body, null, "pveproxy answers an auth failure without a body");

    const exited = new Promise<number | null>((resolve) => child!.once("exit", (code) => resolve(code)));
    child.kill("SIGTERM");
    assert.equal(await exited, 0);
  });
});
