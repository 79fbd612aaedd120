// Proxmox worker tasks: a UPID handed out at once, the work done in the background after the
// configured duration, a log, and `exitstatus` OK / `WARNINGS: n` / the error message.
import type { Upid } from "../../provider/proxmox/upid";

export interface TaskOutcome {
  /** Count of warnings: the task ends with `WARNINGS: n` instead of `OK`. */
  warnings?: number;
}

/** A task is its UPID's parts (the same shape the client parses) plus its progress. */
export interface Task extends Upid {
  status: "running" | "stopped";
  exitstatus?: string;
  endtime?: number;
  /**
   * Sandbox-only, not in any PVE answer: when the task really began and ended, ms since the epoch. PVE
   * reports whole seconds (`starttime` in the UPID and status, `endtime` in the task list); the bench
   * needs the milliseconds to subtract what the tasks actually took.
   */
  startedMs: number;
  endedMs?: number;
  log: string[];
  /** Set when `DELETE .../tasks/{upid}` asked the task to stop. */
  aborted: boolean;
  done: Promise<void>;
  /** Ends the task's wait early (a stop or a shutdown); a no-op once its time is up. */
  wake?: () => void;
}

export interface TaskWork {
  /** Runs first, inside the task (a worker taking the config lock); throws to fail the task. */
  prepare?(task: Task): Promise<void> | void;
  /** Runs when the task's time is up, unless the task was stopped; throws to fail the task. */
  run(task: Task): Promise<TaskOutcome | void> | TaskOutcome | void;
  /** Runs when the task failed or was stopped, to undo what dispatch prepared (e.g. a `lock: create`). */
  rollback?(task: Task, error: string): Promise<void> | void;
  /** Runs after the task ended either way (e.g. to release the config lock). */
  finally?(task: Task): void;
}

const hex8 = (value: number) => (value >>> 0).toString(16).toUpperCase().padStart(8, "0");

/** `UPID:node:pid:pstart:starttime:type:id:user:` with PVE's 8-digit upper-case hex fields. */
export function formatUpid(task: Pick<Task, "node" | "pid" | "pstart" | "starttime" | "type" | "id" | "user">): string {
  return `UPID:${task.node}:${hex8(task.pid)}:${hex8(task.pstart)}:${hex8(task.starttime)}:${task.type}:${task.id}:${task.user}:`;
}

export function parseUpid(upid: string): { node: string; type: string; id: string; user: string } | undefined {
  const match = /^UPID:([a-zA-Z0-9]([a-zA-Z0-9-]*[a-zA-Z0-9])?):([0-9A-Fa-f]{8}):([0-9A-Fa-f]{8,9}):([0-9A-Fa-f]{8}):([^:\s]+):([^:\s]*):([^:\s]+):$/.exec(upid);
  if (!match) return undefined;
  return { node: match[1], type: match[6], id: match[7], user: match[8] };
}

export interface TaskTiming {
  /** How long a task of `type` on `id` (a VMID, a volume, ...) runs. */
  durationMs(type: string, id: string): number;
  /** Extra time from the fault injector (slow tasks). */
  extraDelayMs(type: string): number;
  /** An error message when the fault injector fails this task type. */
  injectedFailure(type: string): string | undefined;
}

export class TaskRegistry {
  private readonly byUpid = new Map<string, Task>();
  private nextPid = 0x10000 + Math.floor(Math.random() * 0x100000);
  /**
   * The node's clock ticks (USER_HZ, 100 a second) since boot when this registry began. A worker's `pstart`
   * is its start in those ticks (pve-common PVE/ProcFSTools.pm read_proc_starttime, field 22 of
   * /proc/PID/stat, put in the UPID by PVE/RESTEnvironment.pm fork_worker): it grows with time, never
   * with the pid, and two workers forked in the same tick share it.
   */
  private readonly bootTicks = Math.floor(Math.random() * 0x1000000) + 0x100000;
  private readonly bootMs = Date.now();
  private closed = false;

  constructor(private readonly timing: TaskTiming) {}

  get(upid: string): Task | undefined {
    return this.byUpid.get(upid);
  }

  /** Every task of this sandbox, in start order. */
  all(): Task[] {
    return [...this.byUpid.values()];
  }

  list(node: string): Task[] {
    return [...this.byUpid.values()].filter((task) => task.node === node);
  }

  start(node: string, type: string, id: string, user: string, work: TaskWork): Task {
    const pid = this.nextPid++;
    const startedMs = Date.now();
    const starttime = Math.floor(startedMs / 1000);
    const pstart = this.bootTicks + Math.floor((startedMs - this.bootMs) / 10);
    const fields = { node, pid, pstart, starttime, type, id, user };
    const task: Task = { ...fields, upid: formatUpid(fields), status: "running", startedMs, log: [], aborted: false, done: Promise.resolve() };
    this.byUpid.set(task.upid, task);
    task.done = this.execute(task, work);
    return task;
  }

  /** `DELETE /nodes/{node}/tasks/{upid}`: the worker gets a signal and ends as interrupted. */
  stop(task: Task): void {
    if (task.status !== "running") return;
    task.aborted = true;
    task.wake?.();
  }

  /** One timer to the task's deadline (a loop of short sleeps drifts by a few ms per step); a stop wakes it. */
  private sleep(ms: number, task: Task): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(() => task.wake!(), Math.max(0, task.startedMs + ms - Date.now()));
      task.wake = () => {
        clearTimeout(timer);
        task.wake = undefined;
        resolve();
      };
    });
  }

  private async execute(task: Task, work: TaskWork): Promise<void> {
    const delay = Math.max(0, this.timing.durationMs(task.type, task.id)) + this.timing.extraDelayMs(task.type);
    let error: string | undefined;
    let warnings = 0;
    try {
      await work.prepare?.(task);
      await this.sleep(delay, task);
      if (task.aborted) throw new Error("interrupted by signal");
      if (this.closed) throw new Error("sandbox shut down");
      const injected = this.timing.injectedFailure(task.type);
      if (injected) throw new Error(injected);
      const outcome = await work.run(task);
      warnings = (outcome && outcome.warnings) || 0;
    } catch (caught) {
      error = (caught instanceof Error ? caught.message : String(caught)).replace(/\n+$/, "");
    }
    if (error !== undefined) {
      try {
        await work.rollback?.(task, error);
      } catch (rollbackError) {
        task.log.push(`rollback failed: ${String(rollbackError)}`);
      }
      task.log.push(`TASK ERROR: ${error}`);
      task.exitstatus = error;
    } else if (warnings > 0) {
      task.log.push(`TASK WARNINGS: ${warnings}`);
      task.exitstatus = `WARNINGS: ${warnings}`;
    } else {
      task.log.push("TASK OK");
      task.exitstatus = "OK";
    }
    task.endedMs = Date.now();
    task.endtime = Math.floor(task.endedMs / 1000);
    task.status = "stopped";
    work.finally?.(task);
  }

  /** Ends all running tasks (as failed) and waits for them. */
  async close(): Promise<void> {
    this.closed = true;
    for (const task of this.byUpid.values()) task.wake?.();
    await Promise.all([...this.byUpid.values()].map((task) => task.done));
  }
}
