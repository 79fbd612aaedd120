// What the state backend tracks: the identity tags held by any stack's checkpoint, and the stacks
// with an operation in progress. Only a file backend (a directory, `file://...`) can be read here;
// for any other the answer is "unknown" with the reason, and the sweep then judges no container
// as untracked.

import * as fs from "node:fs";
import * as path from "node:path";
import { gunzipSync } from "node:zlib";
import { IDENTITY_TAG_RE } from "../../provider/container/schema";
import { tagText } from "./tags";

export type TrackedState =
  | { known: true; backend: string; stacks: number; tracked: Set<string>; busyStacks: Set<string> }
  | { known: false; backend: string; reason: string };

/** The directory of a file backend URL (`file://~/state`, `file:///srv/pulumi`), or undefined. */
export function fileBackendDir(url: string): string | undefined {
  if (!url.startsWith("file://")) return undefined;
  const rest = url.slice("file://".length).replace(/\?.*$/, "");
  if (rest === "~" || rest.startsWith("~/")) return path.join(process.env.HOME ?? "", rest.slice(1));
  return path.resolve(rest);
}

function filesUnder(dir: string, keep: (file: string) => boolean): string[] {
  if (!fs.existsSync(dir)) return [];
  return fs.readdirSync(dir, { recursive: true, encoding: "utf8" }).map((file) => path.join(dir, file)).filter((file) => keep(file) && fs.statSync(file).isFile());
}

/** Every identity tag anywhere in a checkpoint: resource outputs, pending operations, pending deletes. */
function identityTagsIn(value: unknown, into: Set<string>): void {
  if (typeof value === "string") {
    if (IDENTITY_TAG_RE.test(value)) into.add(value);
  } else if (Array.isArray(value)) {
    for (const item of value) identityTagsIn(item, into);
  } else if (value && typeof value === "object") {
    for (const item of Object.values(value)) identityTagsIn(item, into);
  }
}

/**
 * Reads a file backend: `.pulumi/stacks/**\/*.json[.gz]` (checkpoints, project-scoped or not) and
 * `.pulumi/locks/**` (one directory per stack holding a lock while an operation runs).
 */
export function readFileBackend(dir: string): TrackedState {
  const backend = `file://${dir}`;
  const root = path.join(dir, ".pulumi");
  if (!fs.existsSync(root)) return { known: false, backend, reason: `${root} does not exist: not a Pulumi file backend` };
  const tracked = new Set<string>();
  const checkpoints = filesUnder(path.join(root, "stacks"), (file) => /\.json(\.gz)?$/.test(file));
  for (const file of checkpoints) {
    const raw = fs.readFileSync(file);
    const text = file.endsWith(".gz") ? gunzipSync(raw).toString("utf8") : raw.toString("utf8");
    let checkpoint: unknown;
    try {
      checkpoint = JSON.parse(text);
    } catch (error) {
      // One unreadable checkpoint makes every untracked verdict unsafe.
      return { known: false, backend, reason: `${file} is not JSON (${(error as Error).message})` };
    }
    identityTagsIn(checkpoint, tracked);
  }
  const busyStacks = new Set(filesUnder(path.join(root, "locks"), (file) => file.endsWith(".json")).map((file) => tagText(path.basename(path.dirname(file)))));
  return { known: true, backend, stacks: checkpoints.length, tracked, busyStacks };
}

/** `--state DIR`, else `PULUMI_BACKEND_URL` when it is a file backend; otherwise unknown, with why. */
export function readTrackedState(stateDir: string | undefined, env: NodeJS.ProcessEnv = process.env): TrackedState {
  if (stateDir !== undefined) return readFileBackend(path.resolve(stateDir));
  const url = env.PULUMI_BACKEND_URL;
  if (!url) return { known: false, backend: "Pulumi Cloud (no PULUMI_BACKEND_URL)", reason: "only a file backend can be read: pass --state DIR to judge untracked containers" };
  const dir = fileBackendDir(url);
  if (dir === undefined) return { known: false, backend: url.replace(/\/\/[^@/]*@/, "//"), reason: "only a file backend (file://...) can be read: untracked containers are not judged" };
  return readFileBackend(dir);
}
