import { strict as assert } from "assert";
import { parseInputs, parseStoredInputs, UNKNOWN } from "../../../provider/container/schema";
import { MALFORMED, PUBLIC_KEY, TEMPLATE, VALID } from "./fixtures";

describe("container schema", () => {
  it("has at least 30 malformed cases", () => assert.ok(MALFORMED.length >= 30));

  for (const c of MALFORMED) {
    it(`rejects ${c.name}, naming ${c.field}`, () => {
      const { failures } = parseInputs(c.inputs);
      assert.ok(failures.length > 0, "expected a failure");
      assert.ok(
        failures.some((f) => f.property === c.field),
        `expected a failure on ${c.field}, got ${JSON.stringify(failures)}`,
      );
    });
  }

  it("collects every problem at once", () => {
    const { failures } = parseInputs({ hostname: "bad_name", template: TEMPLATE, cores: 0, memory: 1, network: { vlan: 9999 }, tags: ["a b"] });
    assert.deepEqual(failures.map((f) => f.property).sort(), ["cores", "hostname", "memory", "network.vlan", "tags[0]"]);
  });

  it("never echoes a secret or a key in a reason", () => {
    const { failures } = parseInputs({ ...VALID, password: "abc", sshPublicKeys: ["-----BEGIN OPENSSH PRIVATE KEY-----\nsecretbody\n-----END OPENSSH PRIVATE KEY-----"], connection: { apiToken: "ci@pve!x" } });
    const text = JSON.stringify(failures);
    assert.ok(!text.includes("secretbody") && !text.includes("abc\"") && !text.includes("ci@pve!x"), text);
  });

  it("applies defaults and normalizes tags (lower-cased, sorted, deduplicated)", () => {
    const { inputs, failures } = parseInputs({ ...VALID, tags: ["Preview", "app", "preview", "APP"], sshPublicKeys: [PUBLIC_KEY] });
    assert.deepEqual(failures, []);
    assert.deepEqual(inputs.tags, ["app", "preview"]);
    assert.equal(inputs.cores, 1);
    assert.equal(inputs.memory, 512);
    assert.equal(inputs.unprivileged, true);
    assert.equal(inputs.started, true);
    assert.deepEqual(inputs.network, { bridge: "vmbr0", ipv4: "dhcp", firewall: false });
    assert.deepEqual(inputs.timeouts, { create: 600, start: 120, ip: 120, delete: 300 });
  });

  it("adds :latest to an image without a tag, and takes a string list for nameserver", () => {
    const { inputs, failures } = parseInputs({ hostname: "a", image: "ghcr.io/acme/app", nameserver: "1.1.1.1 9.9.9.9" });
    assert.deepEqual(failures, []);
    assert.equal(inputs.image, "ghcr.io/acme/app:latest");
    assert.deepEqual(inputs.nameserver, ["1.1.1.1", "9.9.9.9"]);
  });

  it("accepts static addresses, a connection override and the __provider key", () => {
    const { failures } = parseInputs({
      ...VALID, __provider: "exports.handler = ...",
      network: { ipv4: { address: "10.0.0.5/24", gateway: "10.0.0.1" }, ipv6: { address: "fd00::5/64", gateway: "fd00::1" }, vlan: 10, mtu: 1500 },
      connection: { endpoint: "https://127.0.0.1:8006", apiToken: "ci@pve!lp=1b7c5f1c-7c1e-4a2c-9a59-3b5e0e0e2e11", fingerprint: "ab".repeat(32) },
    });
    assert.deepEqual(failures, []);
  });

  it("skips unknown values during preview and keeps them unknown", () => {
    const { inputs, failures, hasUnknowns } = parseInputs({ hostname: UNKNOWN, image: UNKNOWN, env: { A: UNKNOWN, B: "x" }, cores: 2 });
    assert.deepEqual(failures, []);
    assert.ok(hasUnknowns);
    assert.equal(inputs.hostname, UNKNOWN);
    assert.equal(inputs.image, UNKNOWN);
    assert.equal((inputs.env as Record<string, string>).A, UNKNOWN);
    assert.equal(inputs.cores, 2);
    assert.equal(inputs.memory, 512, "defaults still apply");
  });

  it("still reports known bad fields next to unknown ones", () => {
    const { failures } = parseInputs({ hostname: UNKNOWN, template: TEMPLATE, cores: 0 });
    assert.deepEqual(failures.map((f) => f.property), ["cores"]);
  });

  it("does not judge the source rule when a source is unknown", () => {
    assert.deepEqual(parseInputs({ hostname: "a", template: UNKNOWN }).failures, []);
    assert.deepEqual(parseInputs({ hostname: "a", template: TEMPLATE, clone: UNKNOWN }).failures, []);
  });

  it("reads older state leniently, defaulting what is missing or no longer valid", () => {
    const old = parseStoredInputs({ hostname: "web-1", template: TEMPLATE, memory: "weird", schemaVersion: 0, ipv4: "10.0.0.9" });
    assert.equal(old.memory, 512);
    assert.equal(old.hostname, "web-1");
  });

  it("preview: an unknown list element makes the whole list unknown; an unknown address keeps its place in the network", () => {
    const tags = parseInputs({ ...VALID, tags: ["web", UNKNOWN] });
    assert.deepEqual([tags.failures, tags.hasUnknowns, tags.inputs.tags], [[], true, UNKNOWN]);
    const net = parseInputs({ ...VALID, network: { bridge: "vmbr1", ipv4: { address: UNKNOWN, gateway: "10.0.0.1" } } });
    assert.deepEqual(net.failures, []);
    assert.deepEqual(net.inputs.network, { bridge: "vmbr0", ipv4: { address: UNKNOWN }, firewall: false });
    const keys = parseInputs({ ...VALID, sshPublicKeys: [UNKNOWN] });
    assert.deepEqual([keys.failures, keys.inputs.sshPublicKeys, keys.inputs.template, keys.inputs.cores], [[], UNKNOWN, TEMPLATE, 1]);
  });

  it("preview: an unknown hostname alone still gets every default, and no stand-in value leaks into the inputs", () => {
    const { inputs, failures, hasUnknowns } = parseInputs({ hostname: UNKNOWN, template: TEMPLATE });
    assert.deepEqual([failures, hasUnknowns], [[], true]);
    assert.equal(inputs.hostname, UNKNOWN);
    assert.equal(inputs.template, TEMPLATE);
    assert.deepEqual(inputs.timeouts, { create: 600, start: 120, ip: 120, delete: 300 });
    const sourceUnknown = parseInputs({ hostname: UNKNOWN, image: UNKNOWN });
    assert.equal(sourceUnknown.inputs.template, undefined, "the stand-in template is gone");
    assert.equal(sourceUnknown.inputs.image, UNKNOWN);
    assert.equal(parseInputs(VALID).hasUnknowns, false);
    const bad = parseInputs({ ...VALID, cores: 0 });
    assert.equal(bad.hasUnknowns, false);
    assert.equal(bad.inputs.cores, 0, "failed inputs come back as given");
  });

  // A bug this found: with an unknown field, the object-wide rules never ran in preview (zod runs a superRefine
  // only once every field parses), and a stand-in template hid a missing source: preview passed, `up` failed.
  it("preview: the source rule still applies when no source is unknown, and each source given twice is named", () => {
    assert.deepEqual(parseInputs({ hostname: UNKNOWN }).failures.map((f) => `${f.property}: ${f.reason}`), ["image: One of `image`, `template` and `clone` is required"]);
    assert.deepEqual(parseInputs({ hostname: UNKNOWN, cores: UNKNOWN, template: TEMPLATE, clone: 100 }).failures.map((f) => `${f.property}: ${f.reason}`),
      ["template: Only one of `image`, `template` and `clone` can be given", "clone: Only one of `image`, `template` and `clone` can be given"]);
    assert.deepEqual(parseInputs({ ...VALID, templateStorage: "local" }).failures.map((f) => `${f.property}: ${f.reason}`), ["templateStorage: is only used with `image`"]);
  });

  it("env values with a control character, and reserved tags, are refused with the reason", () => {
    assert.deepEqual(parseInputs({ ...VALID, env: { OK: "x", BAD: "a\u0001b" } }).failures.map((f) => `${f.property}: ${f.reason}`),
      ["env.BAD: the value holds a control character (NUL and the like) Proxmox cannot store"]);
    assert.deepEqual(parseInputs({ ...VALID, tags: ["LP-0123456789-abcdef"] }).failures.map((f) => `${f.property}: ${f.reason}`),
      ["tags[0]: is reserved for the identity tag the provider sets"]);
    assert.deepEqual(parseInputs({ ...VALID, nameserver: "1.1.1.1, 9.9.9.9;8.8.8.8" }).inputs.nameserver, ["1.1.1.1", "9.9.9.9", "8.8.8.8"]);
  });

  it("state that cannot be read even leniently is an error naming the fields", () => {
    assert.throws(() => parseStoredInputs({ hostname: "web-1", template: TEMPLATE, clone: 100 }), /^Error: stored inputs cannot be read: template, clone$/);
    assert.equal(parseStoredInputs({ template: TEMPLATE, network: { vlan: 0 }, hostname: "web-1" }).network.vlan, undefined, "a bad nested value is dropped with its field");
    assert.equal(parseStoredInputs({ template: TEMPLATE, hostname: "web-1", description: null }).description, undefined);
  });

  it("check's reasons are the value checks' own: SSH key, tag pattern, connection endpoint; lists split on any separator", () => {
    const reasons = (raw: Record<string, unknown>) => parseInputs({ ...VALID, ...raw }).failures.map((f) => `${f.property}: ${f.reason}`);
    assert.deepEqual(reasons({ sshPublicKeys: ["ssh-rsa AAAA!"], tags: ["a b"] }), [
      "sshPublicKeys[0]: is not an OpenSSH public key (the key data is not base64)",
      "tags[0]: must match Proxmox's tag pattern [a-z0-9_][a-z0-9_-+.]*",
    ]);
    assert.deepEqual(reasons({ connection: { endpoint: "http://pve:8006" } }),
      ["connection.endpoint: http:// would send the API token or password in clear; Proxmox VE's API (pveproxy) answers HTTPS: use https://<host>:8006"]);
    assert.deepEqual(parseInputs({ ...VALID, nameserver: " 1.1.1.1 ;", searchdomain: ",a.test" }).inputs.nameserver, ["1.1.1.1"]);
    assert.deepEqual(parseInputs({ ...VALID, searchdomain: ",a.test" }).inputs.searchdomain, ["a.test"]);
  });
});
