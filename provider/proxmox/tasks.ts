// Pure rules for waiting on Proxmox tasks: how long between status polls, what an exit status means, and
// which task a task list holds.

import { isUpid, parseUpid } from "./upid";

/**
 * How `waitForTask` polls a task type it knows nothing about yet (otherwise the schedule is dense around
 * the duration learned, see provider/poll.ts): fast at first (most API tasks finish in well under a second), then
 * capped. A gentle curve with a 1 s cap notices a long task (an 8 s create) about 0.5 s after it ends
 * for about one poll a second; doubling up to 2 s overshot by about 1.2 s for a few polls fewer.
 */
export interface TaskPollPolicy {
  /** Delay before the second poll. */
  readonly initialMs: number;
  /** Upper bound of any delay. */
  readonly maxMs: number;
  /** Growth per poll. */
  readonly factor: number;
}

export const DEFAULT_TASK_POLL: TaskPollPolicy = { initialMs: 50, maxMs: 1_000, factor: 1.5 };

/** Delay after poll number `poll` (counting from 1). */
export function taskPollDelay(poll: number, policy: TaskPollPolicy = DEFAULT_TASK_POLL): number {
  return Math.min(policy.maxMs, Math.round(policy.initialMs * policy.factor ** Math.max(0, poll - 1)));
}

/** `OK` and `WARNINGS: n` are success; anything else is Proxmox's failure message. Returns the warning count, or undefined on failure. */
export function taskWarnings(exitstatus: string | undefined): number | undefined {
  if (exitstatus === "OK") return 0;
  const warnings = /^WARNINGS: (\d+)$/.exec(exitstatus ?? "");
  return warnings ? Number(warnings[1]) : undefined;
}

/** One entry of `GET /nodes/{node}/tasks`: `status` is `RUNNING`, or the exit status once it ended. */
export interface TaskListEntry {
  upid: string;
  status?: string;
  type?: string;
  id?: string;
  starttime?: number;
  /** The worker's start in clock ticks since boot. */
  pstart?: number;
}

/**
 * The newest `type` task of guest `id` that began after `first` (the create that forked it, for a
 * `vzstart`) in a task list, by start second and then by the worker's start in clock ticks (the UPID's
 * `pstart`). Not by place: API2/Tasks.pm node_tasks lists the active tasks, then the index read from its
 * end, which is in the order tasks ended; and a vmid reused within one second lists the previous
 * container's `vzstart` in the same second as this one. Type, id and times come from the UPID where the
 * entry leaves them out.
 */
export function followUpOf(entries: Iterable<TaskListEntry>, type: string, id: string, first: { starttime: number; pstart: number }): TaskListEntry | undefined {
  const after = (a: readonly [number, number], b: readonly [number, number]) => a[0] > b[0] || (a[0] === b[0] && a[1] >= b[1]);
  const floor = [first.starttime, first.pstart] as const;
  let found: { entry: TaskListEntry; key: readonly [number, number] } | undefined;
  for (const entry of entries) {
    const upid = isUpid(entry.upid) ? parseUpid(entry.upid) : undefined;
    const [entryType, entryId] = [entry.type ?? upid?.type, entry.id ?? upid?.id];
    const key = [entry.starttime ?? upid?.starttime ?? -1, entry.pstart ?? upid?.pstart ?? -1] as const;
    if (entryType === type && entryId === id && after(key, floor) && (!found || after(key, found.key))) found = { entry, key };
  }
  return found?.entry;
}
