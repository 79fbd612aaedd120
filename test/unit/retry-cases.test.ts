// provider/retry.ts case by case: what each kind of error gets retried under, the exact backoff figures
// (with the random part fixed), and `retrying`'s loop (attempt numbers, `only`, the last error).
import { strict as assert } from "assert";
import { backoffMs, delay, DEFAULT_RETRY_POLICY, isLockContention, isRetryable, isTaskLockTimeout, retrying, TLS_VERIFICATION_CODES, type RetryPolicy } from "../../provider/retry";
import { AcmeError, ConfigError, DnsUpdateError, PveHttpError, PveNetworkError, PveTaskError, SshConnectError } from "../../provider/errors";

const http = (status: number, message = "x") => new PveHttpError({ status, message, method: "GET", path: "/p" });
const net = (notSent: boolean, code?: unknown) => new PveNetworkError("n", { notSent }, { context: code === undefined ? {} : { code } });
const task = (exitstatus: string) => new PveTaskError({ upid: "UPID:pve1:1:1:1:vzstart:105:root@pam:", exitstatus, log: [] });
const idem = { idempotent: true };
const once = { idempotent: false };
const FIXED: RetryPolicy = { limit: 3, statuses: [503], retryableMessages: [/busy lock/], baseDelayMs: 100, maxDelayMs: 250, jitter: 0.5 };

describe("retry policy, case by case", () => {
  it("isTaskLockTimeout: only a task whose exit status is exactly the lock timeout", () => {
    assert.equal(isTaskLockTimeout(task("can't lock file '/run/lock/lxc/pve-config-105.lock' - got timeout")), true);
    assert.equal(isTaskLockTimeout(task("can't lock file '/run/lock/lxc/pve-config-105.lock' - got timeout \n")), true);
    assert.equal(isTaskLockTimeout(task("x can't lock file '/a' - got timeout")), false);
    assert.equal(isTaskLockTimeout(task("can't lock file '/a' - got timeout, then more")), false);
    assert.equal(isTaskLockTimeout(http(500, "can't lock file '/a' - got timeout")), false);
    assert.equal(isTaskLockTimeout(new Error("can't lock file '/a' - got timeout")), false);
  });

  it("isLockContention: an HTTP error whose message the policy lists", () => {
    assert.equal(isLockContention(http(500, "CT 105 is locked (create)")), true);
    assert.equal(isLockContention(http(500, "got timeout")), true);
    assert.equal(isLockContention(http(500, "internal error")), false);
    assert.equal(isLockContention(http(500, "a busy lock"), FIXED), true);
    assert.equal(isLockContention(http(500, "is locked"), FIXED), false);
    assert.equal(isLockContention(task("is locked")), false);
    assert.equal(isLockContention({ pveMessage: "CT 105 is locked (create)" }), false, "only an HTTP error of ours");
  });

  it("network errors: permanent codes never, otherwise idempotent or surely not sent", () => {
    for (const code of ["ERR_LAUNCHPAD_TLS_PIN_MISMATCH", ...TLS_VERIFICATION_CODES]) {
      assert.equal(isRetryable(net(true, code), idem), false, code);
    }
    assert.equal(isRetryable(net(false, "ECONNRESET"), idem), true);
    assert.equal(isRetryable(net(false, "ECONNRESET"), once), false);
    assert.equal(isRetryable(net(true, "ECONNREFUSED"), once), true);
    assert.equal(isRetryable(net(false, 42), idem), true, "a code that is not a string is no permanent code");
    assert.equal(isRetryable(net(true, "CERT_HAS_EXPIRED"), idem, { ...FIXED }), true, "a policy without permanent codes");
  });

  it("HTTP errors: never 403, lock contention always, listed statuses when idempotent", () => {
    assert.equal(isRetryable(http(403, "CT is locked"), idem), false);
    assert.equal(isRetryable(http(500, "CT 105 is locked (create)"), once), true);
    assert.equal(isRetryable(http(503), idem, FIXED), true);
    assert.equal(isRetryable(http(500), idem, FIXED), false);
    assert.equal(isRetryable(http(503), once, FIXED), false);
    assert.equal(isRetryable(http(400), idem), false);
    for (const status of [500, 502, 503, 504, 596, 599]) assert.equal(isRetryable(http(status), idem), true, String(status));
  });

  it("SSH connects and ACME directory probes only when transient; DNS updates like HTTP by their status", () => {
    assert.equal(isRetryable(new SshConnectError("refused", { context: { transient: true } }), once), true);
    assert.equal(isRetryable(new AcmeError("reset", { context: { transient: true } }), idem), true);
    assert.equal(isRetryable(new AcmeError("not trusted", { context: { transient: false } }), idem), false);
    assert.equal(isRetryable(new AcmeError("order failed"), idem), false);
    assert.equal(isRetryable(new SshConnectError("auth", { context: { transient: false } }), idem), false);
    assert.equal(isRetryable(new SshConnectError("x"), idem), false);
    assert.equal(isRetryable(new DnsUpdateError("locked", { context: { status: 500 } }), idem), true);
    assert.equal(isRetryable(new DnsUpdateError("locked", { context: { status: 500 } }), once), false);
    assert.equal(isRetryable(new DnsUpdateError("bad", { context: { status: 422 } }), idem), false);
    assert.equal(isRetryable(new DnsUpdateError("odd", { context: { status: "500" } }), idem), false);
    assert.equal(isRetryable(new ConfigError("no"), idem), false);
    assert.equal(isRetryable(new ConfigError("no", { context: { status: 500 } }), idem), false, "a status in the context counts for DNS updates only");
    assert.equal(isRetryable(new Error("plain"), idem), false);
    assert.equal(isRetryable(task("failed"), idem), false);
  });

  it("backoffMs: base x factor^(attempt-1), capped, the random share scaled by jitter, at least 1 ms", () => {
    const p = { baseDelayMs: 100, maxDelayMs: 1_000, jitter: 0.5 };
    assert.equal(backoffMs(1, p, () => 0), 50);
    assert.equal(backoffMs(1, p, () => 1), 100);
    assert.equal(backoffMs(1, p, () => 0.5), 75);
    assert.equal(backoffMs(2, p, () => 1), 200);
    assert.equal(backoffMs(3, p, () => 1), 400);
    assert.equal(backoffMs(5, p, () => 1), 1_000);
    assert.equal(backoffMs(5, p, () => 0), 500);
    assert.equal(backoffMs(0, p, () => 1), 100, "attempt 0 counts as the first");
    assert.equal(backoffMs(3, { ...p, factor: 3 }, () => 1), 900);
    assert.equal(backoffMs(2, { ...p, jitter: 0 }, () => 0.3), 200);
    assert.equal(backoffMs(1, { baseDelayMs: 0, maxDelayMs: 0, jitter: 0 }), 1);
    assert.equal(backoffMs(1, { baseDelayMs: 3, maxDelayMs: 10, jitter: 0.5 }, () => 0), 2, "rounded");
  });

  it("delay: 0 past the limit or for what is not retried, the backoff otherwise", () => {
    const busy = http(503);
    assert.equal(delay(1, busy, FIXED, idem, () => 1), 100);
    assert.equal(delay(2, busy, FIXED, idem, () => 1), 200);
    assert.equal(delay(3, busy, FIXED, idem, () => 1), 250);
    assert.equal(delay(3, busy, FIXED, idem, () => 0), 125);
    assert.equal(delay(4, busy, FIXED, idem, () => 1), 0);
    assert.equal(delay(1, busy, FIXED, once, () => 1), 0);
    assert.ok(delay(1, http(500)) > 0, "the default policy, idempotent by default");
    assert.equal(delay(1, http(500), DEFAULT_RETRY_POLICY, once), 0);
    assert.equal(delay(DEFAULT_RETRY_POLICY.limit + 1, http(500)), 0);
  });

  it("retrying: attempts numbered from 1, each retried error waited on, the last one thrown", async () => {
    const fast: RetryPolicy = { ...FIXED, baseDelayMs: 1, maxDelayMs: 1 };
    const seen: number[] = [];
    await assert.rejects(retrying(async (attempt) => { seen.push(attempt); throw http(503, `try ${attempt}`); }, idem, fast), /try 4/);
    assert.deepEqual(seen, [1, 2, 3, 4]);
    seen.length = 0;
    assert.equal(await retrying(async (attempt) => { seen.push(attempt); if (attempt < 2) throw http(503); return "done"; }, idem, fast), "done");
    assert.deepEqual(seen, [1, 2]);
    seen.length = 0;
    await assert.rejects(retrying(async (attempt) => { seen.push(attempt); throw http(503, "not this one"); }, idem, fast, () => false), /not this one/);
    assert.deepEqual(seen, [1], "`only` refusing the error stops at once");
    seen.length = 0;
    await assert.rejects(retrying(async (attempt) => { seen.push(attempt); throw http(400, "bad"); }, idem, fast, () => true), /bad/);
    assert.deepEqual(seen, [1], "`only` narrows, never widens");
    seen.length = 0;
    await assert.rejects(retrying(async (attempt) => { seen.push(attempt); throw http(503); }, idem, fast, (e) => (e as PveHttpError).status === 503));
    assert.deepEqual(seen, [1, 2, 3, 4]);
  });
});
