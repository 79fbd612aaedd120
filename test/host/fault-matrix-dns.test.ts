// The DnsRecord rows of the fault matrix (issue #15), through the real dynamic-provider host, on a
// real PowerDNS through both backends. Faults: PowerDNS's API answering 5xx (an HTTP relay in front
// of it), and for RFC 2136: SERVFAIL (a DNS relay in front of the server answers it), REFUSED (the
// real server, once the zone no longer lets the key update it) and a TSIG error (the real server,
// once its copy of the key's secret was rotated). Each cell: the faulted run fails by name (or
// converges, where the fault does not touch it); the next run converges; the zone holds exactly
// the record sets state knows of; someone else's records in the zone are never touched.
import { strict as assert } from "assert";
import * as crypto from "crypto";
import { DnsRecord } from "../../src/dnsRecord";
import { EngineError, TestEngine } from "../../devstack/engine";
import { cell, type Operation } from "../support/fault-matrix";
import { PdnsTsigKey, PowerDnsServer } from "../../devstack/pdns";
import { startDnsRelay, startHttpRelay, type DnsRelay, type HttpRelay } from "../support/relays";

const ZONE = "fm.test";
const KEY: PdnsTsigKey = { name: "launchpad-fm", algorithm: "hmac-sha256", secret: crypto.randomBytes(32).toString("base64") };

interface Rrset { name: string; type: string; ttl: number; records: { content: string; disabled: boolean }[] }

describe("fault matrix: DnsRecord through the real host", function () {
  this.timeout(120_000);
  let pdns: PowerDnsServer;
  let api: HttpRelay;
  let dns: DnsRelay;
  const engines: TestEngine[] = [];
  let foreign: string;

  const zoneSets = async (): Promise<Rrset[]> =>
    ((await pdns.api("GET", `/zones/${ZONE}.`)) as { rrsets: Rrset[] }).rrsets.filter((r) => r.type !== "SOA");
  const served = async (fqdn: string) => (await pdns.query(fqdn, "A")).answers.map((a) => String((a as { data: unknown }).data)).sort();
  const canonical = (sets: Rrset[]) => JSON.stringify(sets.map((r) => ({ ...r, records: [...r.records].sort((a, b) => a.content.localeCompare(b.content)) }))
    .sort((a, b) => `${a.name}/${a.type}`.localeCompare(`${b.name}/${b.type}`)));
  /** Every set in the zone that no engine of ours tracks (NS, someone else's A and TXT). */
  const othersNow = async () => {
    const ours = new Set(engines.flatMap((e) => e.state.filter((r) => r.custom && r.id).map((r) => `${e.resource(r.urn)!.plainOutputs.fqdn}./A`)));
    return canonical((await zoneSets()).filter((r) => !ours.has(`${r.name}/${r.type}`)));
  };

  before(async function () {
    pdns = await PowerDnsServer.startWithZone(this, ZONE, [KEY]);
    const apiUrl = new URL(pdns.apiUrl);
    api = await startHttpRelay({ host: apiUrl.hostname, port: Number(apiUrl.port) });
    dns = await startDnsRelay({ host: "127.0.0.1", port: pdns.dnsPort });
    // Someone else's records in the zone: a set of their own, and a TXT at every name a cell uses.
    const theirs: Rrset[] = [{ name: `foreign.${ZONE}.`, type: "A", ttl: 300, records: [{ content: "198.51.100.99", disabled: false }] }];
    for (const backend of ["pdns", "2136"]) {
      for (const op of ["create", "update", "refresh", "delete"]) {
        for (const slug of ["5xx", "5xx1", "servfail", "refused", "tsig"]) {
          theirs.push({ name: `${op}-${slug}-${backend}.${ZONE}.`, type: "TXT", ttl: 300, records: [{ content: '"someone else\'s"', disabled: false }] });
        }
      }
    }
    await pdns.api("PATCH", `/zones/${ZONE}.`, { rrsets: theirs.map((r) => ({ ...r, changetype: "REPLACE" })) });
    foreign = await othersNow();
  });
  after(async () => {
    for (const engine of engines) await engine.close();
    await api?.close();
    await dns?.close();
    await pdns?.stop();
  });

  /** The zone holds exactly what state knows of, and someone else's sets are as they were. */
  async function noOrphansOthersIntact(): Promise<void> {
    const tracked = engines.flatMap((e) => e.state.filter((r) => r.custom && r.id).map((r) => `${e.resource(r.urn)!.plainOutputs.fqdn}.`));
    const ours = (await zoneSets()).filter((r) => r.type === "A" && r.name !== `foreign.${ZONE}.`).map((r) => r.name);
    assert.deepEqual(ours.sort(), tracked.sort(), "A record sets in the zone = those state tracks");
    assert.equal(await othersNow(), foreign, "someone else's records are untouched");
  }

  interface Fault {
    name: string;
    slug: string;
    backend: "powerdns" | "rfc2136";
    arm(operation: Operation): Promise<void>;
    disarm(): Promise<void>;
    /** The named error a faulted run must fail with; undefined: the operation does not meet the fault. */
    error(operation: Operation): RegExp | undefined;
    /** Answers the relay made up so far (a relay fault that never fired proves nothing). */
    hits?(): number;
  }

  const setAllowedKeys = (names: string[]) => pdns.api("PUT", `/zones/${ZONE}./metadata/TSIG-ALLOW-DNSUPDATE`, { metadata: names });
  const setServerSecret = (secret: string) => pdns.api("PUT", `/tsigkeys/${KEY.name}.`, { name: KEY.name, algorithm: KEY.algorithm, key: secret });
  const FAULTS: Fault[] = [
    {
      name: "PowerDNS 5xx", slug: "5xx", backend: "powerdns",
      // The write fails after its read went through (a delete must not swallow it); a refresh only reads.
      arm: async (op) => api.fail(500, Infinity, op === "refresh" ? "GET" : "PATCH"),
      disarm: async () => api.clear(),
      hits: () => api.faulted,
      // Retried (idempotent requests), then named with the status and where.
      error: (op) => new RegExp(`PowerDNS ${op === "refresh" ? "GET" : "PATCH"} http://127\\.0\\.0\\.1:\\d+ zone fm\\.test: HTTP 500 injected 500`),
    },
    {
      name: "PowerDNS 5xx once", slug: "5xx1", backend: "powerdns",
      // One 503 on the write (or the read, for a refresh): the retry rides over it.
      arm: async (op) => api.fail(503, 1, op === "refresh" ? "GET" : "PATCH"),
      disarm: async () => api.clear(),
      hits: () => api.faulted,
      error: () => undefined,
    },
    {
      name: "DNS SERVFAIL", slug: "servfail", backend: "rfc2136",
      arm: async () => dns.answerWith(2),
      disarm: async () => dns.answerWith(undefined),
      hits: () => dns.faulted,
      error: (op) => (op === "refresh" ? /could not answer for .* A: SERVFAIL/ : /DNS server 127\.0\.0\.1:\d+ did not \w+ .*: SERVFAIL/),
    },
    {
      name: "DNS REFUSED", slug: "refused", backend: "rfc2136",
      // The zone stops letting this key update it: the real server refuses.
      arm: () => setAllowedKeys(["some-other-key"]).then(() => undefined),
      disarm: () => setAllowedKeys([KEY.name]).then(() => undefined),
      // A refresh only queries, unsigned: the fault does not touch it.
      error: (op) => (op === "refresh" ? undefined : /did not \w+ .*: REFUSED \(the server does not allow this update/),
    },
    {
      name: "TSIG error", slug: "tsig", backend: "rfc2136",
      // The server's copy of the key was rotated: our signature no longer verifies there.
      arm: () => setServerSecret(crypto.randomBytes(32).toString("base64")).then(() => undefined),
      disarm: () => setServerSecret(KEY.secret).then(() => undefined),
      // PowerDNS answers a signature that does not verify with a plain REFUSED (no TSIG error record):
      // the message must name the key and the secret as the likely cause.
      error: (op) => (op === "refresh" ? undefined : /REFUSED \(the server does not allow this update: check that it knows TSIG key "launchpad-fm" with this hmac-sha256 secret/),
    },
  ];

  const server = (backend: Fault["backend"]) => backend === "powerdns"
    ? { kind: "powerdns" as const, url: api.url, apiKey: pdns.apiKey, allowPlainHttp: true }
    : { kind: "rfc2136" as const, host: "127.0.0.1", port: dns.port, tsig: KEY };

  afterEach(async () => {
    for (const fault of FAULTS) await fault.disarm();
    for (const engine of engines) if (engine.state.some((r) => r.custom)) await engine.destroy().catch(() => undefined);
  });

  /** Runs `run` under the fault and checks how it ended; true when it failed (as it must, by name). */
  async function faulted(fault: Fault, operation: Operation, run: () => Promise<unknown>): Promise<boolean> {
    const hitsBefore = fault.hits?.();
    await fault.arm(operation);
    let failure: Error | undefined;
    try {
      failure = await run().then(() => undefined, (e: Error) => e);
    } finally {
      await fault.disarm();
    }
    if (hitsBefore !== undefined) assert.ok(fault.hits!() > hitsBefore, "the relay's fault fired");
    const expected = fault.error(operation);
    if (expected) {
      assert.ok(failure instanceof EngineError, `the faulted ${operation} must fail, not succeed`);
      assert.match(failure.message, expected);
      assert.ok(!failure.message.includes(pdns.apiKey) && !failure.message.includes(KEY.secret), "no secret in the message");
    } else {
      assert.equal(failure, undefined, `a ${operation} this fault does not stop converges`);
    }
    return failure !== undefined;
  }

  for (const fault of FAULTS) {
    const tag = fault.backend === "powerdns" ? "pdns" : "2136";
    const resource = `DnsRecord (${fault.backend === "powerdns" ? "PowerDNS API" : "RFC 2136"})`;
    const setup = (operation: Operation) => {
      const engine = new TestEngine({ project: "launchpad-fm-dns", stack: `${operation}-${fault.slug}-${tag}` });
      engines.push(engine);
      const name = `${operation}-${fault.slug}-${tag}`;
      const program = (value: string) => () => {
        new DnsRecord("rec", { zone: ZONE, name, type: "A", values: [value], ttl: 60, server: server(fault.backend) });
      };
      return { engine, fqdn: `${name}.${ZONE}`, program };
    };

    cell({ resource, operation: "create", fault: fault.name }, async () => {
      const { engine, fqdn, program } = setup("create");
      if (await faulted(fault, "create", () => engine.up(program("192.0.2.1")))) {
        assert.equal(engine.resource("rec"), undefined, "a failed create records nothing");
        assert.deepEqual(await served(fqdn), [], "and writes nothing");
      }
      await noOrphansOthersIntact();

      await engine.up(program("192.0.2.1"));
      assert.deepEqual(await served(fqdn), ["192.0.2.1"], "the next up converges");
      await engine.destroy();
      assert.deepEqual(await served(fqdn), []);
      await noOrphansOthersIntact();
    });

    cell({ resource, operation: "update", fault: fault.name }, async () => {
      const { engine, fqdn, program } = setup("update");
      await engine.up(program("192.0.2.1"));
      const failed = await faulted(fault, "update", () => engine.up(program("192.0.2.2")));
      const now = failed ? "192.0.2.1" : "192.0.2.2";
      assert.deepEqual(engine.resource("rec")!.plainOutputs.values, [now], "state holds what the server holds");
      assert.deepEqual(await served(fqdn), [now], failed ? "the failed update changed nothing" : "the update went through");
      await noOrphansOthersIntact();

      assert.deepEqual((await engine.up(program("192.0.2.2"))).operations.map((o) => o.op), [failed ? "update" : "same"]);
      assert.deepEqual(await served(fqdn), ["192.0.2.2"], "the next up converges");
      await engine.destroy();
      await noOrphansOthersIntact();
    });

    cell({ resource, operation: "refresh", fault: fault.name }, async () => {
      const { engine, program } = setup("refresh");
      await engine.up(program("192.0.2.1"));
      const before = JSON.stringify(engine.resource("rec")!.plainOutputs);
      await faulted(fault, "refresh", () => engine.refresh());
      assert.equal(JSON.stringify(engine.resource("rec")?.plainOutputs), before, "the record stays in state, unchanged");
      await noOrphansOthersIntact();

      assert.deepEqual((await engine.refresh()).operations.map((o) => o.op), ["same"], "the next refresh converges");
      await engine.destroy();
      await noOrphansOthersIntact();
    });

    cell({ resource, operation: "delete", fault: fault.name }, async () => {
      const { engine, fqdn, program } = setup("delete");
      await engine.up(program("192.0.2.1"));
      if (await faulted(fault, "delete", () => engine.destroy())) {
        assert.ok(engine.resource("rec"), "a failed delete keeps the record in state");
        assert.deepEqual(await served(fqdn), ["192.0.2.1"], "and on the server");
      } else {
        assert.deepEqual(await served(fqdn), [], "the delete went through");
      }
      await noOrphansOthersIntact();

      await engine.destroy();
      assert.equal(engine.state.filter((r) => r.custom).length, 0);
      assert.deepEqual(await served(fqdn), [], "the next destroy converges");
      await noOrphansOthersIntact();
    });
  }
});
