// bench/host-probe.js, preloaded into a plain Node process that sends one request with undici (Node's fetch):
// each line it writes carries the time, the request, and the thread's own schedstat readings, which the bench
// uses to take local CPU contention out (see `criticalContention` and `lateProbeWaitMs` in bench/stats.ts).
import { strict as assert } from "assert";
import { spawn, spawnSync } from "child_process";
import * as fs from "fs";
import * as http from "http";
import type { AddressInfo } from "net";
import * as os from "os";
import * as path from "path";
import type { HostEvent } from "../../bench/stats";

const PROBE = path.resolve(__dirname, "../../bench/host-probe.js");

/** Runs `script` in a Node process with the probe preloaded, writing to `dir`. */
function runProbed(script: string, dir: string): Promise<{ status: number | null; stderr: string }> {
  // spawnSync would block this process's server: the child runs while this event loop answers it.
  return new Promise((resolve) => {
    const proc = spawn(process.execPath, ["--require", PROBE, "-e", script], { env: { ...process.env, LAUNCHPAD_BENCH_PROBE_DIR: dir, NODE_OPTIONS: "" } });
    let stderr = "";
    proc.stderr.on("data", (chunk: Buffer) => (stderr += chunk));
    proc.on("close", (status) => resolve({ status, stderr }));
  });
}

describe("bench host probe", function () {
  this.timeout(30_000);
  let dir: string;
  let server: http.Server;

  before(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "host-probe-"));
    server = http.createServer((_req, res) => res.end("{}"));
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  });
  after(() => {
    server.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it("writes each request sent and answered with the thread's CPU time, run-queue wait and times put on a CPU so far", async () => {
    const { port } = server.address() as AddressInfo;
    const script = `(async () => { for (let i = 0; i < 3; i++) { await (await fetch("http://127.0.0.1:${port}/api2/json/nodes/pve1/lxc/100/interfaces")).text(); await new Promise((r) => setTimeout(r, 20)); } })();`;
    const child = await runProbed(script, dir);
    assert.equal(child.status, 0, child.stderr);
    const files = fs.readdirSync(dir);
    assert.equal(files.length, 1, "one file, named for the process");
    const events = fs.readFileSync(path.join(dir, files[0]), "utf8").trim().split("\n").map((line) => JSON.parse(line) as HostEvent);
    const requests = events.filter((e) => e.kind === "sent" || e.kind === "answered");
    assert.deepEqual(requests.map((e) => e.kind), ["sent", "answered", "sent", "answered", "sent", "answered"]);
    assert.ok(requests.every((e) => e.method === "GET" && e.path === "/api2/json/nodes/pve1/lxc/100/interfaces"), JSON.stringify(requests[0]));
    for (const key of ["cpuMs", "waitMs", "slices"] as const) {
      const values = events.map((e) => e[key]);
      assert.ok(values.every((v) => typeof v === "number" && v >= 0), `${key}: ${values.join(", ")}`);
      assert.ok(values.every((v, i) => i === 0 || v! >= values[i - 1]!), `${key} never goes back: ${values.join(", ")}`);
    }
    assert.ok(events.every((e) => Number.isInteger(e.slices)), "times put on a CPU: a count");
    // The process slept 20 ms between its requests: it was put on a CPU again each time it woke.
    const sent = events.filter((e) => e.kind === "sent");
    assert.ok(sent[1].slices! > sent[0].slices! && sent[2].slices! > sent[1].slices!, sent.map((e) => e.slices).join(", "));
    assert.ok(sent[2].cpuMs! > sent[0].cpuMs!, "it ran between its requests");
  });

  it("writes a request once more as its bytes, body and all, go to the socket, between its sending and its answer", async () => {
    const { port } = server.address() as AddressInfo;
    const sub = fs.mkdtempSync(path.join(dir, "post-"));
    const script = `(async () => { await (await fetch("http://127.0.0.1:${port}/api2/json/nodes/pve1/lxc", { method: "POST", body: "vmid=100" })).text(); })();`;
    const child = await runProbed(script, sub);
    assert.equal(child.status, 0, child.stderr);
    const [file] = fs.readdirSync(sub);
    const events = fs.readFileSync(path.join(sub, file), "utf8").trim().split("\n").map((line) => JSON.parse(line) as HostEvent);
    const request = events.filter((e) => e.method === "POST");
    assert.deepEqual(request.map((e) => e.kind), ["sent", "written", "answered"]);
    assert.ok(request.every((e) => e.path === "/api2/json/nodes/pve1/lxc" && typeof e.waitMs === "number"), JSON.stringify(request));
    assert.ok(request[0].at <= request[1].at && request[1].at <= request[2].at);
  });

  it("leaves a process it cannot write for unprobed, not broken", () => {
    const run = spawnSync(process.execPath, ["--require", PROBE, "-e", "process.stdout.write('ran')"], { env: { ...process.env, LAUNCHPAD_BENCH_PROBE_DIR: path.join(dir, "missing"), NODE_OPTIONS: "" }, encoding: "utf8" });
    assert.equal(run.status, 0, run.stderr);
    assert.equal(run.stdout, "ran");
  });
});
