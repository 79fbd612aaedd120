// The one retry policy: data, plus one pure function that says how long to wait before the next
// attempt (0 = stop). Every retry loop in the provider goes through `retrying`; no sleeps elsewhere.

import { isLaunchpadError, LaunchpadError, PveHttpError, PveNetworkError, type PveTaskError } from "./errors";

export interface RetryPolicy {
  /** Attempts after the first. */
  readonly limit: number;
  /** HTTP statuses that may be retried (only for idempotent requests, or when the server said it did nothing). */
  readonly statuses: readonly number[];
  /** Proxmox messages that mean "busy, try again" (lock contention). */
  readonly retryableMessages: readonly RegExp[];
  readonly baseDelayMs: number;
  readonly maxDelayMs: number;
  /** 0..1: the share of each delay that is randomised. */
  readonly jitter: number;
  /** Network error codes (PveNetworkError `context.code`) that no retry can fix, such as a TLS verification failure. */
  readonly permanentNetworkCodes?: readonly string[];
}

/** Certificate verification failures: raised during the handshake, never cured by trying again. */
export const TLS_VERIFICATION_CODES: readonly string[] = [
  "DEPTH_ZERO_SELF_SIGNED_CERT",
  "SELF_SIGNED_CERT_IN_CHAIN",
  "UNABLE_TO_VERIFY_LEAF_SIGNATURE",
  "UNABLE_TO_GET_ISSUER_CERT",
  "UNABLE_TO_GET_ISSUER_CERT_LOCALLY",
  "CERT_HAS_EXPIRED",
  "CERT_NOT_YET_VALID",
  "CERT_UNTRUSTED",
  "CERT_REJECTED",
  "CERT_SIGNATURE_FAILURE",
  "ERR_TLS_CERT_ALTNAME_INVALID",
];

export const DEFAULT_RETRY_POLICY: RetryPolicy = {
  limit: 6,
  statuses: [500, 502, 503, 504, 596, 599],
  retryableMessages: [/can't lock file .* got timeout/i, /\bis locked\b/i, /got timeout/i],
  baseDelayMs: 200,
  maxDelayMs: 5_000,
  jitter: 0.5,
  permanentNetworkCodes: ["ERR_LAUNCHPAD_TLS_PIN_MISMATCH", ...TLS_VERIFICATION_CODES],
};

export interface RetryContext {
  /** GET, PUT of config, DELETE of an already-stopped thing: safe to send twice. */
  readonly idempotent: boolean;
}

/** True when the server reported it is busy with a lock: it did not act, so even a POST may be resent. */
export function isLockContention(error: unknown, policy: RetryPolicy = DEFAULT_RETRY_POLICY): boolean {
  if (!(isLaunchpadError(error, "ERR_PVE_HTTP"))) return false;
  const http = error as PveHttpError;
  return policy.retryableMessages.some((re) => re.test(http.pveMessage));
}

/**
 * A worker task that died taking the config lock: `lock_config` runs inside the worker for start, stop,
 * shutdown, reboot, resize and destroy (pve-container API2/LXC/Status.pm, API2/LXC.pm destroy_vm) and
 * PVE::Tools lock_file_full dies `can't lock file '...' - got timeout` before the task's code ran.
 * Nothing happened, so the call may be dispatched again, as a call refused for the lock is.
 */
export function isTaskLockTimeout(error: unknown): boolean {
  return isLaunchpadError(error, "ERR_PVE_TASK") && /^can't lock file '[^']*' - got timeout\s*$/.test((error as PveTaskError).exitstatus);
}

export function isRetryable(error: unknown, context: RetryContext, policy: RetryPolicy = DEFAULT_RETRY_POLICY): boolean {
  if (isTaskLockTimeout(error)) return true;
  if (isLaunchpadError(error, "ERR_PVE_NETWORK")) {
    const code = (error as PveNetworkError).context?.code;
    if (typeof code === "string" && policy.permanentNetworkCodes?.includes(code)) return false;
    return context.idempotent || (error as PveNetworkError).notSent;
  }
  if (isLaunchpadError(error, "ERR_PVE_HTTP")) {
    const http = error as PveHttpError;
    if (http.status === 403) return false; // a missing privilege stays missing: no retry, whatever the message
    if (isLockContention(http, policy)) return true;
    return context.idempotent && policy.statuses.includes(http.status);
  }
  // An SSH connect or an ACME directory's first answer that may come on another try says so itself.
  if (isLaunchpadError(error, "ERR_SSH_CONNECT") || isLaunchpadError(error, "ERR_ACME")) return (error as LaunchpadError).context.transient === true;
  // PowerDNS on SQLite answers a concurrent write with 500 "database is locked" instead of waiting.
  if (isLaunchpadError(error, "ERR_DNS_UPDATE")) {
    const status = (error as LaunchpadError).context.status;
    return context.idempotent && typeof status === "number" && policy.statuses.includes(status);
  }
  return false;
}

/**
 * How long to wait before attempt `attempt + 1` (attempt counts from 1), or 0 to stop.
 * Exponential from `baseDelayMs`, capped at `maxDelayMs`, with `jitter` of it randomised.
 */
export function delay(
  attempt: number,
  error: unknown,
  policy: RetryPolicy = DEFAULT_RETRY_POLICY,
  context: RetryContext = { idempotent: true },
  random: () => number = Math.random,
): number {
  if (attempt > policy.limit || !isRetryable(error, context, policy)) return 0;
  return backoffMs(attempt, policy, random);
}

/** The backoff itself: `baseDelayMs x factor^(attempt - 1)` (factor 2 by default), capped, `jitter` of it randomised; at least 1. */
export function backoffMs(
  attempt: number,
  policy: Pick<RetryPolicy, "baseDelayMs" | "maxDelayMs" | "jitter"> & { factor?: number },
  random: () => number = Math.random,
): number {
  const exponential = Math.min(policy.maxDelayMs, policy.baseDelayMs * (policy.factor ?? 2) ** Math.max(0, attempt - 1));
  const jittered = exponential * (1 - policy.jitter) + exponential * policy.jitter * random();
  return Math.max(1, Math.round(jittered));
}

export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Runs `operation` until it succeeds or `delay` says stop; the last error is thrown. `only`, when given,
 * narrows what is retried (a loop around calls that already retry on their own).
 */
export async function retrying<T>(
  operation: (attempt: number) => Promise<T>,
  context: RetryContext,
  policy: RetryPolicy = DEFAULT_RETRY_POLICY,
  only?: (error: unknown) => boolean,
): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await operation(attempt);
    } catch (error) {
      const wait = only && !only(error) ? 0 : delay(attempt, error, policy, context);
      if (wait === 0) throw error;
      await sleep(wait);
    }
  }
}
