import { strict as assert } from "assert";
import { delay, DEFAULT_RETRY_POLICY, retrying, isRetryable, isTaskLockTimeout } from "../../provider/retry";
import { PveHttpError, PveNetworkError, PveTaskError, ValidationError, redact, registerSecret, isLaunchpadError } from "../../provider/errors";

const http = (status: number, message: string) => new PveHttpError({ status, message, method: "POST", path: "/nodes/pve1/lxc" });

describe("retry policy", () => {
  it("retries lock contention even for a create, since the server did nothing", () => {
    const lock = http(500, "can't lock file '/run/lock/lxc/pve-config-105.lock' - got timeout");
    assert.ok(delay(1, lock, DEFAULT_RETRY_POLICY, { idempotent: false }) > 0);
  });
  it("re-dispatches a task whose worker died taking the config lock, and no other failed task", () => {
    const task = (exitstatus: string) => new PveTaskError({ upid: "UPID:pve1:00000001:00000001:00000001:vzstop:105:root@pam:", exitstatus, log: [] });
    const locked = task("can't lock file '/run/lock/lxc/pve-config-105.lock' - got timeout");
    assert.ok(isTaskLockTimeout(locked));
    assert.ok(delay(1, locked, DEFAULT_RETRY_POLICY, { idempotent: false }) > 0);
    for (const other of ["command 'lxc-stop -n 105' failed: got timeout", "startup for container '105' failed", "CT is locked (backup)"]) {
      assert.equal(isTaskLockTimeout(task(other)), false, other);
      assert.equal(delay(1, task(other), DEFAULT_RETRY_POLICY, { idempotent: true }), 0, other);
    }
  });
  it("never retries a 5xx create that may have gone through", () => {
    assert.equal(delay(1, http(500, "unable to create CT 105"), DEFAULT_RETRY_POLICY, { idempotent: false }), 0);
    assert.ok(delay(1, http(500, "internal error"), DEFAULT_RETRY_POLICY, { idempotent: true }) > 0);
  });
  it("never retries 400, 401 or 403", () => {
    for (const status of [400, 401, 403]) assert.equal(delay(1, http(status, "no"), DEFAULT_RETRY_POLICY, { idempotent: true }), 0);
  });
  it("never retries a 403, even one whose wording looks like lock contention, and names the missing privilege and path", () => {
    const denied = http(403, "Permission check failed (/vms/105, VM.Allocate)\n");
    assert.equal(isRetryable(denied, { idempotent: true }), false);
    assert.equal(isRetryable(http(403, "can't lock file '/run/lock/lxc/pve-config-105.lock' - got timeout"), { idempotent: true }), false);
    assert.deepEqual(denied.missing, { path: "/vms/105", privileges: ["VM.Allocate"] });
    assert.match(denied.message, /403 Permission check failed \(\/vms\/105, VM\.Allocate\) - the credentials lack VM\.Allocate on \/vms\/105/);
    const any = http(403, "Permission check failed (/storage/local, Datastore.AllocateSpace|Datastore.Audit)\n");
    assert.deepEqual(any.missing, { path: "/storage/local", privileges: ["Datastore.AllocateSpace", "Datastore.Audit"] });
    assert.equal(http(403, "Permission check failed (changing the hookscript is only allowed for root@pam)\n").missing, undefined);
  });
  it("retries a network error on a POST only when the request surely was not sent", () => {
    const maybeSent = new PveNetworkError("socket hang up", { notSent: false });
    const notSent = new PveNetworkError("ECONNREFUSED", { notSent: true });
    assert.equal(isRetryable(maybeSent, { idempotent: false }), false);
    assert.equal(isRetryable(notSent, { idempotent: false }), true);
  });
  it("grows exponentially, stays within the cap, and stops after the limit", () => {
    const error = http(503, "busy");
    const noJitter = { ...DEFAULT_RETRY_POLICY, jitter: 0 };
    assert.equal(delay(1, error, noJitter), noJitter.baseDelayMs);
    assert.equal(delay(2, error, noJitter), noJitter.baseDelayMs * 2);
    assert.equal(delay(noJitter.limit, error, noJitter), Math.min(noJitter.maxDelayMs, noJitter.baseDelayMs * 2 ** (noJitter.limit - 1)));
    assert.equal(delay(noJitter.limit + 1, error, noJitter), 0);
    const low = delay(3, error, DEFAULT_RETRY_POLICY, { idempotent: true }, () => 0);
    const high = delay(3, error, DEFAULT_RETRY_POLICY, { idempotent: true }, () => 0.999);
    assert.ok(low < high && high <= DEFAULT_RETRY_POLICY.baseDelayMs * 4);
  });
  it("retrying() returns the first success and rethrows a final failure", async () => {
    const fast = { ...DEFAULT_RETRY_POLICY, baseDelayMs: 1, maxDelayMs: 2 };
    let calls = 0;
    const value = await retrying(async () => { if (++calls < 3) throw http(503, "busy"); return "ok"; }, { idempotent: true }, fast);
    assert.equal(value, "ok");
    assert.equal(calls, 3);
    await assert.rejects(retrying(async () => { throw http(400, "bad"); }, { idempotent: true }, fast), /400 bad/);
  });
});

describe("errors", () => {
  it("strips credentials from messages and recognises errors by brand", () => {
    registerSecret("s3cr3t-uuid-value");
    const error = new PveHttpError({ status: 401, message: "bad PVEAPIToken=root@pam!ci=s3cr3t-uuid-value", method: "GET", path: "/nodes" });
    assert.doesNotMatch(error.message, /s3cr3t/);
    assert.ok(isLaunchpadError(error, "ERR_PVE_HTTP"));
    assert.ok(!isLaunchpadError(new Error("x")));
    assert.match(redact("password=hunter2&x=1"), /password=\[secret\]/);
    assert.equal(redact("x PVEAPIToken=root@pam!t=abcd y"), "x [secret] y");
    const pem = "-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAA\n-----END OPENSSH PRIVATE KEY-----";
    assert.equal(redact(`key: ${pem} end`), "key: [secret] end");
    const validation = new ValidationError([{ property: "memory", reason: "must be at least 16" }]);
    assert.match(validation.message, /^memory: must be at least 16$/);
  });
});

describe("retry policy for DNS servers", () => {
  it("retries an idempotent PowerDNS call answered 5xx, but not a rejected key or a non-idempotent one", async () => {
    const { DnsUpdateError } = await import("../../provider/errors");
    const busy = new DnsUpdateError("HTTP 500 database is locked", { context: { status: 500 } });
    const rejected = new DnsUpdateError("the API key was rejected", { context: { status: 401 } });
    assert.equal(isRetryable(busy, { idempotent: true }), true);
    assert.equal(isRetryable(busy, { idempotent: false }), false);
    assert.equal(isRetryable(rejected, { idempotent: true }), false);
  });
});

describe("retry policy for SSH connections", () => {
  it("reconnects after a refused or reset connection, never after a host key mismatch or failed login", async () => {
    const { SshConnectError } = await import("../../provider/errors");
    assert.equal(isRetryable(new SshConnectError("refused", { context: { transient: true } }), { idempotent: false }), true);
    assert.equal(isRetryable(new SshConnectError("host key does not match"), { idempotent: true }), false);
    assert.equal(isRetryable(new SshConnectError("authentication failed", { context: { transient: false } }), { idempotent: true }), false);
  });
});
