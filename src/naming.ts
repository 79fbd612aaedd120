import { createHash } from "crypto";

/** RFC 1123 label: what a hostname, a Proxmox container name and a DNS name part must be. */
export const DNS_LABEL = /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/;
export const MAX_LABEL_LENGTH = 63;
/** Length kept from a long name before `-` and the 8-hex hash suffix (as Launchpad does today). */
const KEPT_WHEN_CUT = 54;

export interface PreviewNameArgs {
  /** The repository's owner (user or organisation), e.g. `acme`. Left out of the name when absent. */
  readonly owner?: string;
  /** The repository's name, e.g. `shop`. */
  readonly repository: string;
  /** The branch, as git or CI gives it: `feature/login`, `refs/heads/feature/login`. */
  readonly branch: string;
}

/** True when `name` can be used as it is as a hostname label. */
export function isDnsLabel(name: string): boolean {
  return DNS_LABEL.test(name);
}

/**
 * The environment's name for one branch: `<owner>-<repo>-<branch>`, lower-cased, every character
 * outside `[a-z0-9-]` turned into `-`, runs of `-` collapsed, no hyphen at either end. A name
 * longer than 63 characters keeps its first 54 characters plus `-` and 8 hex characters of the
 * SHA-256 of the whole name, so two long names sharing a prefix stay distinct.
 * Always a valid DNS label (see {@link isDnsLabel}); the same inputs always give the same name.
 * @example previewName({ owner: "Acme", repository: "shop", branch: "feature/Login" }) === "acme-shop-feature-login"
 */
export function previewName(args: PreviewNameArgs): string {
  const parts = [args.owner, args.repository, branchOf(args.branch)]
    .filter((part): part is string => part !== undefined && part !== "")
    .map(labelPart);
  return toDnsLabel(parts.join("-"));
}

/** The Pulumi stack name for a branch, derived by the same rules (`refs/heads/` dropped). */
export function stackName(branch: string): string {
  return toDnsLabel(labelPart(branchOf(branch)));
}

/**
 * Any string as a DNS label by the rules above. A string with nothing usable in it (only symbols,
 * emoji) becomes the 8-hex hash of itself, so the result is never empty. Idempotent.
 */
export function toDnsLabel(raw: string): string {
  const name = sanitize(raw);
  if (name === "") return hash8(raw);
  if (name.length <= MAX_LABEL_LENGTH) return name;
  // A cut can land on a hyphen: drop it so the label never has `--` before the hash.
  return `${name.slice(0, KEPT_WHEN_CUT).replace(/-+$/, "")}-${hash8(name)}`;
}

/** One part of a name; a part with nothing usable still contributes (its hash), so names stay distinct. */
function labelPart(raw: string): string {
  return sanitize(raw) || hash8(raw);
}

function branchOf(branch: string): string {
  return branch.replace(/^refs\/heads\//, "");
}

function sanitize(raw: string): string {
  return raw.toLowerCase().replace(/[^a-z0-9-]/g, "-").replace(/-{2,}/g, "-").replace(/^-+|-+$/g, "");
}

function hash8(text: string): string {
  return createHash("sha256").update(text, "utf8").digest("hex").slice(0, 8);
}
