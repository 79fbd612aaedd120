// The bench's sandbox on a thread of its own (`worker_threads`), never the product's or the tests'.
//
// In life the Proxmox node is another machine, and each stack's engine runs on its own CI runner. With the
// sandbox on the thread the engines share, a request from one stack waited while the thread ran other stacks'
// engines: work that is neither the API's nor a wait for a CPU, so nothing took it out, and it fell on the stacks
// whose create POST came in the middle of the burst. On its own thread the sandbox answers as a node would, for
// every stack at once; its own work stays in, and its wait for a CPU it reads itself, at each connection it
// accepts, each request it receives and each answer it sends (`waits`), as the engines' thread did before.

import * as channels from "node:diagnostics_channel";
import * as fs from "fs";
import { isMainThread, parentPort, Worker, workerData } from "worker_threads";
import { startSandbox, type RequestLogEntry, type Sandbox, type SandboxContainer, type SandboxOptions, type SchemaViolation } from "../sandbox";
import { drawFor, type TaskTimes, type Timeline, type WaitSample } from "./stats";

/** Durations as the sandbox takes them: its tasks' by type, and the address delay. */
export const sandboxTimings = (drawn: TaskTimes) => ({ taskDurationsMs: { vzcreate: drawn.createMs, vzstart: drawn.startMs, ociregistrypull: drawn.pullMs }, ipDelayMs: drawn.ipMs });

/** One draw for every container, or each container its own from the seed (`drawFor(means, seed, "<label>-ct-<vmid>")`). */
export type ThreadTimings = { taskDurationsMs?: Partial<Record<string, number>>; ipDelayMs?: number } | { perContainer: { means: TaskTimes; seed: number; label: string } };

/**
 * The sandbox on its thread, as the bench reads it: what the engines and Ansible connect with, and copies of its
 * records as of the last `sync()`.
 */
export interface ThreadSandbox extends Pick<Sandbox, "endpoint" | "apiToken" | "fingerprint" | "caCert" | "nodes"> {
  /** Every request received since the last reset, as of the last `sync()`. */
  readonly requests: RequestLogEntry[];
  /** Every schema rejection since the sandbox started, as of the last `sync()`. */
  readonly schemaViolations: SchemaViolation[];
  timeline(): Timeline;
  containers(): SandboxContainer[];
  /** The sandbox thread's run-queue wait, read by that thread itself (see `threadWaitWithin`), as of the last `sync()`. */
  readonly waits: WaitSample[];
  /** Brings the copies up to date. */
  sync(): Promise<void>;
  resetRequests(): Promise<void>;
  setTimings(timings: ThreadTimings): Promise<void>;
  close(): Promise<void>;
}

type Request = { id: number; op: "sync" | "resetRequests" | "setTimings" | "close"; arg?: unknown };
type Reply = { id: number; value?: unknown; error?: string };
type Ready = { ready: Pick<Sandbox, "endpoint" | "apiToken" | "fingerprint" | "caCert" | "nodes"> } | { failed: string };
/** The sandbox's HTTP events at which its thread reads its own wait. */
const WAIT_CHANNELS = ["net.server.socket", "http.server.request.start", "http.server.response.finish"];

type Records = { requests: RequestLogEntry[]; schemaViolations: SchemaViolation[]; timeline: Timeline; containers: SandboxContainer[]; waits: WaitSample[] };

/** Starts a sandbox on a new thread; resolves once it listens. */
export async function startSandboxThread(options: SandboxOptions): Promise<ThreadSandbox> {
  const file = __filename;
  // Under ts-node (`npm run bench`) the thread loads this file through ts-node as well.
  const source = file.endsWith(".ts") ? `require("ts-node").register({ transpileOnly: true }); require(${JSON.stringify(file)});` : `require(${JSON.stringify(file)});`;
  const worker = new Worker(source, { eval: true, workerData: { options } });
  const ready = await new Promise<Ready>((resolve, reject) => {
    worker.once("message", resolve);
    worker.once("error", reject);
    worker.once("exit", (code) => reject(new Error(`the sandbox thread exited (${code}) before it listened`)));
  });
  if ("failed" in ready) {
    await worker.terminate();
    throw new Error(ready.failed);
  }
  let next = 0;
  const pending = new Map<number, { resolve: (value: unknown) => void; reject: (error: Error) => void }>();
  worker.on("message", (reply: Reply) => {
    const waiting = pending.get(reply.id);
    if (!waiting) return;
    pending.delete(reply.id);
    if (reply.error !== undefined) waiting.reject(new Error(reply.error));
    else waiting.resolve(reply.value);
  });
  worker.on("error", (error) => {
    for (const waiting of pending.values()) waiting.reject(error);
    pending.clear();
  });
  const call = (op: Request["op"], arg?: unknown) =>
    new Promise<unknown>((resolve, reject) => {
      const id = next++;
      pending.set(id, { resolve, reject });
      worker.postMessage({ id, op, arg } satisfies Request);
    });
  let records: Records = { requests: [], schemaViolations: [], timeline: { tasks: [], starts: [] } as unknown as Timeline, containers: [], waits: [] };
  return {
    ...ready.ready,
    get requests() {
      return records.requests;
    },
    get schemaViolations() {
      return records.schemaViolations;
    },
    get waits() {
      return records.waits;
    },
    timeline: () => records.timeline,
    containers: () => records.containers,
    async sync() {
      records = (await call("sync")) as Records;
    },
    async resetRequests() {
      await call("resetRequests");
      records.requests = [];
    },
    async setTimings(timings) {
      await call("setTimings", timings);
    },
    async close() {
      try {
        await call("close");
      } finally {
        await worker.terminate();
      }
    },
  };
}

/** On the sandbox's thread: reads its own wait, serves the requests of the bench's thread. */
async function serve(): Promise<void> {
  const port = parentPort!;
  const waits: WaitSample[] = [];
  let schedstat: number | undefined;
  try {
    // This thread's own line: opened here, `thread-self` is this thread.
    schedstat = fs.openSync("/proc/thread-self/schedstat", "r");
  } catch {
    schedstat = undefined;
  }
  const buffer = Buffer.alloc(128);
  const sample = () => {
    if (schedstat === undefined) return;
    try {
      // Its three fields: time on a CPU so far, run-queue wait so far (ns), times put on a CPU.
      const [cpu, wait, slices] = buffer.toString("latin1", 0, fs.readSync(schedstat, buffer, 0, buffer.length, 0)).split(" ");
      const waitMs = Number(wait) / 1e6;
      if (Number.isFinite(waitMs)) waits.push({ at: Date.now(), waitMs, cpuMs: Number(cpu) / 1e6, slices: Number(slices) });
    } catch {
      // No reading: a lower bound with fewer readings (see `threadWaitWithin`).
    }
  };
  for (const name of WAIT_CHANNELS) channels.subscribe(name, sample);
  let sandbox: Sandbox;
  try {
    sandbox = await startSandbox((workerData as { options: SandboxOptions }).options);
  } catch (error) {
    port.postMessage({ failed: String((error as Error)?.stack ?? error) } satisfies Ready);
    return;
  }
  const { endpoint, apiToken, fingerprint, caCert, nodes } = sandbox;
  port.postMessage({ ready: { endpoint, apiToken, fingerprint, caCert, nodes } } satisfies Ready);
  port.on("message", async ({ id, op, arg }: Request) => {
    try {
      let value: unknown;
      if (op === "sync") {
        value = { requests: sandbox.requests, schemaViolations: sandbox.schemaViolations, timeline: sandbox.timeline(), containers: sandbox.containers(), waits } satisfies Records;
      } else if (op === "resetRequests") {
        sandbox.resetRequests();
      } else if (op === "setTimings") {
        const timings = arg as ThreadTimings;
        if ("perContainer" in timings) {
          const { means, seed, label } = timings.perContainer;
          sandbox.setTimings({ perContainer: (vmid) => sandboxTimings(drawFor(means, seed, `${label}-ct-${vmid}`)) });
        } else {
          sandbox.setTimings(timings);
        }
      } else if (op === "close") {
        for (const name of WAIT_CHANNELS) channels.unsubscribe(name, sample);
        await sandbox.close();
      }
      port.postMessage({ id, value } satisfies Reply);
    } catch (error) {
      port.postMessage({ id, error: String((error as Error)?.message ?? error) } satisfies Reply);
    }
  });
}

if (!isMainThread && (workerData as { options?: unknown } | undefined)?.options !== undefined) {
  void serve();
}
