// The Proxmox tags that let `pulumi-launchpad sweep` judge a container without any stack's state:
// which stack made it, which branch it previews, when it was last renewed and when it expires.
// Besides the identity tag (provider/container/identity.ts), every tag here is plain data.
//
// Proxmox's `pve-tag` format is `[a-z0-9_][a-z0-9_\-+.]*` (case-insensitive, stored lower-cased
// here): no `:` or `/`, so times are written `20261201t1415z` and other text is folded onto it.

import { IDENTITY_TAG_RE } from "../../provider/container/schema";

export const STACK_TAG = "lp-stack-";
export const BRANCH_TAG = "lp-branch-";
export const RENEWED_TAG = "lp-renewed-";
export const EXPIRES_TAG = "lp-expires-";
const META_TAG_PREFIXES = [STACK_TAG, BRANCH_TAG, RENEWED_TAG, EXPIRES_TAG] as const;

/** Text folded onto the tag charset: lower-cased, anything else becomes `-`. */
export function tagText(text: string): string {
  return text.toLowerCase().replace(/[^a-z0-9_+.-]/g, "-");
}

/** `20261201t1415z`: a UTC time, to the minute, in the tag charset. */
export function tagTime(time: Date): string {
  const iso = time.toISOString(); // 2026-12-01T14:15:00.000Z
  return `${iso.slice(0, 4)}${iso.slice(5, 7)}${iso.slice(8, 10)}t${iso.slice(11, 13)}${iso.slice(14, 16)}z`;
}

export function parseTagTime(text: string): Date | undefined {
  const match = /^(\d{4})(\d{2})(\d{2})t(\d{2})(\d{2})z$/.exec(text);
  if (!match) return undefined;
  const time = new Date(`${match[1]}-${match[2]}-${match[3]}T${match[4]}:${match[5]}:00Z`);
  return Number.isNaN(time.getTime()) ? undefined : time;
}

const UNITS: Record<string, number> = { m: 60_000, h: 3_600_000, d: 86_400_000, w: 7 * 86_400_000 };

/** `90m`, `36h`, `7d`, `2w` to milliseconds; undefined when it is not such a duration. */
export function parseDuration(text: string): number | undefined {
  const match = /^(\d+)([mhdw])$/.exec(text.trim());
  return match && Number(match[1]) > 0 ? Number(match[1]) * UNITS[match[2]] : undefined;
}

/** The time rounded up to the next full hour: renewing at most once an hour keeps most `up`s free of a tag write. */
export function ceilToHour(time: Date): Date {
  return new Date(Math.ceil(time.getTime() / 3_600_000) * 3_600_000);
}

export interface SweepTagArgs {
  stack?: string;
  branch?: string;
  renewedAt?: Date;
  expiresAt?: Date;
}

export function renderSweepTags(args: SweepTagArgs): string[] {
  return [
    ...(args.stack !== undefined ? [`${STACK_TAG}${tagText(args.stack)}`] : []),
    ...(args.branch !== undefined ? [`${BRANCH_TAG}${tagText(args.branch)}`] : []),
    ...(args.renewedAt ? [`${RENEWED_TAG}${tagTime(args.renewedAt)}`] : []),
    ...(args.expiresAt ? [`${EXPIRES_TAG}${tagTime(args.expiresAt)}`] : []),
  ];
}

export function isSweepTag(tag: string): boolean {
  return META_TAG_PREFIXES.some((prefix) => tag.startsWith(prefix));
}

/** What a container's tags say about it; `identity` is undefined for a container that is not ours. */
export interface SweepLabels {
  identity?: string;
  stack?: string;
  branch?: string;
  renewedAt?: Date;
  expiresAt?: Date;
}

export function readSweepTags(tags: readonly string[]): SweepLabels {
  const labels: SweepLabels = {};
  for (const raw of tags) {
    const tag = raw.toLowerCase();
    if (IDENTITY_TAG_RE.test(tag)) labels.identity = tag;
    else if (tag.startsWith(STACK_TAG)) labels.stack = tag.slice(STACK_TAG.length);
    else if (tag.startsWith(BRANCH_TAG)) labels.branch = tag.slice(BRANCH_TAG.length);
    else if (tag.startsWith(RENEWED_TAG)) labels.renewedAt = parseTagTime(tag.slice(RENEWED_TAG.length));
    else if (tag.startsWith(EXPIRES_TAG)) labels.expiresAt = parseTagTime(tag.slice(EXPIRES_TAG.length));
  }
  return labels;
}
