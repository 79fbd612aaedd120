// What a change does to a certificate: replace it (it moves to another host or file), issue it
// again in place (same paths, new certificate and key), or only record the new setting. Pure: the
// clock comes in as an argument.

import { isDeepStrictEqual } from "util";
import { UNKNOWN, type AcmeCertificateInputs, type AcmeCertificateOutputs } from "./schema";

export type CertificateEffect = "replace" | "reissue" | "record";

/** Per input field; `Record<keyof ...>` makes a forgotten field a compile error. */
export const CERTIFICATE_DIFF_TABLE: Readonly<Record<keyof AcmeCertificateInputs, CertificateEffect>> = {
  hostname: "replace",
  proxy: "record", // refined per sub-field below: host and confDir move the files
  directoryUrl: "reissue", // another CA
  directoryCa: "record",
  email: "record",
  challenge: "record",
  dns: "record",
  renewBeforeDays: "record",
  keyType: "reissue",
  accountKey: "record",
};

const PROXY_REPLACES = ["host", "confDir"];

export interface CertificateDiff {
  changes: boolean;
  replaces: string[];
  deleteBeforeReplace: false;
  /** Why the certificate will be issued again in place, when it will. */
  reissue?: "input" | "due" | "drift";
}

// State comes back with its keys sorted: compare by value, not by text.
const same = (a: unknown, b: unknown) => isDeepStrictEqual(a, b);

/** True when `now` is within `renewBeforeDays` of the certificate's expiry. */
export function renewalDue(stored: Pick<AcmeCertificateOutputs, "notAfter">, renewBeforeDays: number, now: Date): boolean {
  const notAfter = Date.parse(stored.notAfter);
  if (Number.isNaN(notAfter)) return true;
  return now.getTime() >= notAfter - renewBeforeDays * 86_400_000;
}

export function diffCertificate(olds: AcmeCertificateOutputs, news: Record<string, unknown>, now: Date): CertificateDiff {
  const replaces = new Set<string>();
  let changes = false;
  let reissue: CertificateDiff["reissue"];
  for (const field of Object.keys(CERTIFICATE_DIFF_TABLE) as (keyof AcmeCertificateInputs)[]) {
    const next = news[field];
    // An account key not given keeps the one made on create.
    if (field === "accountKey" && next === undefined) continue;
    if (same(olds[field], next)) continue;
    changes = true;
    if (field === "proxy") {
      const before = (olds.proxy ?? {}) as Record<string, unknown>;
      const after = (next ?? {}) as Record<string, unknown>;
      if (next === UNKNOWN || PROXY_REPLACES.some((key) => !same(before[key], after[key]))) replaces.add("proxy");
      continue;
    }
    const effect = CERTIFICATE_DIFF_TABLE[field];
    if (effect === "replace") replaces.add(field);
    else if (effect === "reissue") reissue = "input";
  }
  const days = typeof news.renewBeforeDays === "number" ? news.renewBeforeDays : olds.renewBeforeDays;
  if (!reissue && olds.certificateSha256 !== olds.issuedSha256) reissue = "drift";
  if (!reissue && renewalDue(olds, days, now)) reissue = "due";
  if (reissue) changes = true;
  return { changes, replaces: [...replaces].sort(), deleteBeforeReplace: false, ...(reissue && replaces.size === 0 ? { reissue } : {}) };
}
