// The identity tag every container carries: `lp-<generation hash 10>-<claim 6>`.
//
// - `identity` (an input set by LaunchpadContainer) is a hash of the resource's URN, stack and
//   project: dynamic providers are never told their URN, so the resource class computes it.
// - The generation hash mixes in every replace-class input, so that the replacement of a container
//   (which differs in one of them) never finds, and adopts, the container it replaces. The disk size
//   is left out (it grows in place); a container whose disk is larger than asked is not adopted.
// - The claim is random per create. A create that finds a container with its generation prefix
//   (its own earlier attempt, whose response was lost or whose run was killed) adopts it and writes a
//   new claim; `read` and `delete` act only on a container whose full tag matches their state, so an
//   older state entry can never destroy a container that a newer create adopted.

import { createHash, randomBytes, scrypt } from "node:crypto";
import { promisify } from "node:util";
import type { ContainerInputs } from "./schema";

const scryptAsync = promisify(scrypt) as (password: string, salt: string, keylen: number) => Promise<Buffer>;

/** Hash of a resource's identity, computed by the resource class from project, stack and URN. */
export function identityOf(project: string, stack: string, urn: string): string {
  return createHash("sha256").update(`${project}/${stack}/${urn}`).digest("hex").slice(0, 32);
}

/** `lp-<hash10>-`: the part of the tag shared by every attempt to create this generation. */
export async function identityPrefix(identity: string, inputs: ContainerInputs): Promise<string> {
  // The password enters only through a slow, identity-salted hash (the tag is readable in Proxmox), run on
  // libuv's pool so a create's reads and its other creates go on meanwhile. Public keys are public: a plain hash.
  const password = inputs.password === undefined ? "" : (await scryptAsync(inputs.password, identity, 16)).toString("hex");
  const keys = inputs.sshPublicKeys.length ? createHash("sha256").update(inputs.sshPublicKeys.join("\n")).digest("hex") : "";
  const generation = JSON.stringify([
    inputs.image ?? null,
    inputs.template ?? null,
    inputs.clone ?? null,
    inputs.node ?? null,
    inputs.vmid ?? null,
    inputs.storage ?? null,
    inputs.unprivileged,
    inputs.pool ?? null,
    password,
    keys,
  ]);
  return `lp-${createHash("sha256").update(`${identity}\n${generation}`).digest("hex").slice(0, 10)}-`;
}

export function newClaim(random: (size: number) => Buffer = randomBytes): string {
  return BigInt(`0x${random(8).toString("hex")}`).toString(36).padStart(6, "0").slice(-6);
}

export function isOurIdentityTag(tag: string): boolean {
  return /^lp-[0-9a-f]{10}-[0-9a-z]{6}$/.test(tag);
}
