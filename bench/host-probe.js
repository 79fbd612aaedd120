// Loaded into every provider host the bench starts (`NODE_OPTIONS=--require`), never into the product.
// When a Create call reaches the host's handler, at each request the host sends (and again as its bytes go to
// the socket) and each answer it reads,
// as each new connection begins and ends its handshakes, and when the handler answers the call, it appends
// one line to `$LAUNCHPAD_BENCH_PROBE_DIR/<pid>.jsonl`: the time, the request, and its main thread's time on
// a CPU, run-queue wait and times put on a CPU so far (`/proc/PID/task/PID/schedstat`). Read by the thread itself
// while it runs, the wait is exact: a wait is added to the counter when it ends, and a running thread has none
// in progress.
// The bench takes the wait on a create's critical path from these (see `criticalContention` in stats.ts).
"use strict";
const fs = require("node:fs");
const channels = require("node:diagnostics_channel");

// Both files opened once, as the host starts: no file is made, opened or closed on a create's critical path,
// and the bench keeps the directory on a tmpfs when it can (`scratchRoot` in container.ts), so no write waits
// for a disk. A directory it cannot write to leaves the host unprobed (no figure), never broken.
const openOrNone = (file, flags) => {
  try {
    return fs.openSync(file, flags);
  } catch {
    return undefined;
  }
};
const dir = process.env.LAUNCHPAD_BENCH_PROBE_DIR;
const out = dir ? openOrNone(`${dir}/${process.pid}.jsonl`, "a") : undefined;
if (out !== undefined) {
  const schedstat = openOrNone(`/proc/${process.pid}/task/${process.pid}/schedstat`, "r");
  const buffer = Buffer.alloc(128);
  // Read at offset 0 each time: procfs makes the line afresh for each read from the start. Its three fields:
  // the thread's time on a CPU so far, its run-queue wait so far (ns), and how many times it has been put on a
  // CPU (each wake-up or resumption after a preemption counts one).
  const times = () => {
    if (schedstat === undefined) return { cpuMs: null, waitMs: null, slices: null };
    try {
      const [cpu, wait, slices] = buffer.toString("latin1", 0, fs.readSync(schedstat, buffer, 0, buffer.length, 0)).split(" ");
      return { cpuMs: Number(cpu) / 1e6, waitMs: Number(wait) / 1e6, slices: Number(slices) };
    } catch {
      return { cpuMs: null, waitMs: null, slices: null };
    }
  };
  const write = (event) => fs.writeSync(out, `${JSON.stringify({ ...event, at: Date.now(), ...times() })}\n`);
  const record = (kind) => ({ request }) => write({ kind, method: request.method, path: request.path });
  channels.subscribe("undici:client:sendHeaders", record("sent"));
  channels.subscribe("undici:request:headers", record("answered"));
  // "sent" is read before undici writes a byte; the request's bytes (its body too) are with the socket when this is published.
  // A host put off a CPU between the two (a syscall's return is a point where it may be) still holds the request.
  channels.subscribe("undici:request:bodySent", record("written"));
  // A new connection's TCP and TLS handshakes: like a request, a round trip the sandbox answers.
  const connection = (kind) => ({ connectParams }) => write({ kind, method: "CONNECT", path: `${connectParams.protocol}//${connectParams.host}` });
  channels.subscribe("undici:client:beforeConnect", connection("connect"));
  channels.subscribe("undici:client:connected", connection("connected"));
  channels.subscribe("undici:client:connectError", connection("connected"));

  // The host's Create handler (`@pulumi/pulumi/cmd/dynamic-provider` registers it with grpc-js), whichever
  // copy of grpc-js it loads: "begun" as the handler is entered, "done" as it hands its answer back.
  const Module = require("node:module");
  const load = Module._load;
  Module._load = function (request) {
    const loaded = load.apply(this, arguments);
    const Server = request === "@grpc/grpc-js" ? loaded && loaded.Server : undefined;
    if (Server && !Server.prototype.addService.launchpadProbe) {
      const addService = Server.prototype.addService;
      const wrapped = function (service, implementation) {
        const create = implementation && implementation.create;
        if (typeof create !== "function") return addService.call(this, service, implementation);
        // Its other handlers (and the state they share, `this.config`) through the prototype.
        const probed = Object.create(implementation);
        probed.create = function (call, callback) {
          write({ kind: "begun", method: "RPC", path: "Create" });
          return create.call(this, call, function () {
            write({ kind: "done", method: "RPC", path: "Create" });
            return callback.apply(this, arguments);
          });
        };
        return addService.call(this, service, probed);
      };
      wrapped.launchpadProbe = true;
      Server.prototype.addService = wrapped;
    }
    return loaded;
  };
}
