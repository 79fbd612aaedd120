// provider/proxmox/connection.ts, message by message: every problem names the setting it came from,
// trust settings conflict as a group, flags read as PVE users write them, endpoint checks for `check`.
import { strict as assert } from "assert";
import { randomUUID } from "node:crypto";
import { endpointProblem, inheritedEndpointProblem, normaliseApiToken, normaliseEndpoint, normaliseFingerprint, resolveConnection } from "../../../provider/proxmox/connection";
import { setStackConfig } from "../../../provider/stackConfig";
import { redact } from "../../../provider/errors";

const FP = Array.from({ length: 32 }, (_, i) => i.toString(16).padStart(2, "0").toUpperCase()).join(":");
const TOKEN = "ci@pve!launchpad=00000000-0000-4000-8000-000000000000";
const PEM = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----";
const resolve = (override: Record<string, unknown>, env: Record<string, string | undefined> = {}, stackConfig: Record<string, string | undefined> = {}) =>
  resolveConnection({ override: override as never, env, stackConfig });
const problem = (fn: () => unknown) => {
  try {
    fn();
  } catch (error) {
    return (error as Error).message;
  }
  assert.fail("expected a ConfigError");
};

describe("connection, case by case", () => {
  it("a complete override: endpoint normalised, token, fingerprint; nothing else set", () => {
    assert.deepEqual(resolve({ endpoint: "pve1:8006/api2/json/", apiToken: `PVEAPIToken=${TOKEN}`, fingerprint: FP.toLowerCase().replace(/:/g, "") }), {
      endpoint: "https://pve1:8006", apiToken: TOKEN, fingerprint: FP,
    });
  });

  it("user and password: the user trimmed, the password as given", () => {
    assert.deepEqual(resolve({ endpoint: "https://pve1:8006", username: " root@pam ", password: " pw with spaces ", caCert: `  ${PEM}\n` }), {
      endpoint: "https://pve1:8006", username: "root@pam", password: " pw with spaces ", caCert: PEM,
    });
  });

  it("half-given credentials name both settings and where they came from", () => {
    assert.equal(problem(() => resolve({ endpoint: "https://pve1:8006", password: "pw" })), "Proxmox connection: resource override password is set but resource override username is not");
    assert.equal(problem(() => resolve({}, { PROXMOX_VE_ENDPOINT: "https://pve1:8006", PROXMOX_VE_USERNAME: "root@pam" })),
      "Proxmox connection: environment variable PROXMOX_VE_USERNAME is set but environment variable PROXMOX_VE_PASSWORD is not");
    assert.equal(problem(() => resolve({}, {}, { "launchpad:endpoint": "https://pve1:8006", "launchpad:apiToken": "nope" })),
      "Proxmox connection: stack config launchpad:apiToken is not usable: expected an API token shaped USER@REALM!TOKENID=SECRET (e.g. ci@pve!launchpad=<uuid>)");
  });

  it("trust: one way only, each checked, the insecure flag read loosely", () => {
    const auth = { endpoint: "https://pve1:8006", apiToken: TOKEN };
    assert.equal(problem(() => resolve({ ...auth, caCert: PEM, fingerprint: FP })), "Proxmox connection: resource override caCert and resource override fingerprint are set together: give only one way to trust the server");
    assert.equal(problem(() => resolve({ ...auth, fingerprint: FP, insecure: true })), "Proxmox connection: resource override fingerprint and resource override insecure are set together: give only one way to trust the server");
    assert.equal(problem(() => resolve({ ...auth, caCert: "not a pem" })), "Proxmox connection: resource override caCert is not usable: expected a PEM certificate (-----BEGIN CERTIFICATE----- ...)");
    assert.match(problem(() => resolve({ ...auth, fingerprint: "zz" })), /^Proxmox connection: resource override fingerprint is not usable: a SHA-256 fingerprint is hex digits/);
    assert.equal(problem(() => resolve(auth, { PROXMOX_VE_INSECURE: "maybe" })), "Proxmox connection: environment variable PROXMOX_VE_INSECURE is not usable: expected true or false, got \"maybe\"");
    for (const yes of ["1", "true", "YES", " on "]) assert.equal(resolve(auth, { PROXMOX_VE_INSECURE: yes }).insecure, true, yes);
    for (const no of ["", "0", "false", "No", "off"]) assert.equal(resolve(auth, { PROXMOX_VE_INSECURE: no }).insecure, undefined, no);
    assert.equal(resolve({ ...auth, insecure: true }).insecure, true);
    assert.equal(resolve({ ...auth, insecure: false }, { PROXMOX_VE_FINGERPRINT: FP }).fingerprint, FP, "false sets nothing: the next layer's trust applies");
  });

  it("values of other types: null is unset, a number is text, booleans are flags", () => {
    const endpoint = "https://pve1:8006";
    assert.deepEqual(resolve({ endpoint, apiToken: null, insecure: null }, { PROXMOX_VE_API_TOKEN: TOKEN }), { endpoint, apiToken: TOKEN });
    assert.equal(resolve({ endpoint, username: "u@pve", password: 12345678 }).password, "12345678");
    assert.equal(resolve({ endpoint: 8006, apiToken: TOKEN }).endpoint, normaliseEndpoint("8006"), "a number is read as its text");
    assert.equal(resolve({ endpoint: "   ", apiToken: TOKEN }, {}, { "launchpad:endpoint": "https://stack:8006" }).endpoint, "https://stack:8006", "blank is unset");
    assert.equal(problem(() => resolve({ endpoint, apiToken: TOKEN, fingerprint: FP, insecure: "maybe" })), "Proxmox connection: resource override insecure is not usable: expected true or false, got \"maybe\"");
  });

  it("registers the token, its secret part (also when '=' comes first) and the password before checking them", () => {
    // Fresh values per run: the registry is process-wide, and a value registered by an earlier run would hide a broken registration.
    const [part, lead, password] = ["part", "lead", "pass"].map((w) => `${w}-${randomUUID()}`);
    resolve({ endpoint: "https://pve1:8006", apiToken: `ci@pve!x=${part}` });
    assert.equal(redact(`<${part}>`), "<[secret]>");
    problem(() => resolve({ endpoint: "https://pve1:8006", apiToken: `=${lead}` }));
    assert.equal(redact(`<${lead}>`), "<[secret]>");
    problem(() => resolve({}, { PROXMOX_VE_PASSWORD: password }));
    assert.equal(redact(`<${password}>`), "<[secret]>");
    problem(() => resolve({ endpoint: "https://pve1:8006", apiToken: 12345678 as never }));
  });

  it("timeoutMs from the override: a positive number only", () => {
    const auth = { endpoint: "https://pve1:8006", apiToken: TOKEN };
    assert.equal(resolve({ ...auth, timeoutMs: 1500 }).timeoutMs, 1500);
    for (const bad of [0, -1, Number.NaN, Number.POSITIVE_INFINITY]) {
      assert.equal(problem(() => resolve({ ...auth, timeoutMs: bad })), "Proxmox connection: resource override timeoutMs is not usable: expected a positive number of milliseconds", String(bad));
    }
  });

  it("an unusable endpoint names its origin; every problem is reported at once", () => {
    assert.equal(problem(() => resolve({ endpoint: "ftp://pve1", apiToken: TOKEN })), "Proxmox connection: resource override endpoint is not usable: unsupported scheme ftp: (expected https://<host>:8006)");
    const all = problem(() => resolve({}));
    assert.equal(all, "Proxmox connection: no Proxmox endpoint: set `pulumi config set launchpad:endpoint https://<host>:8006` or the environment variable PROXMOX_VE_ENDPOINT; " +
      "no Proxmox credentials: set `pulumi config set --secret launchpad:apiToken USER@REALM!TOKENID=SECRET` (or launchpad:username + launchpad:password), " +
      "or the environment variable PROXMOX_VE_API_TOKEN (or PROXMOX_VE_USERNAME + PROXMOX_VE_PASSWORD)");
  });

  it("normaliseEndpoint: each refusal in its words", () => {
    assert.equal(normaliseEndpoint(" https://pve1:8006/pve/api2/json// "), "https://pve1:8006/pve");
    assert.equal(normaliseEndpoint("https://pve1:8006///"), "https://pve1:8006");
    assert.equal(normaliseEndpoint("https://pve1:8006/api2/json/x"), "https://pve1:8006/api2/json/x", "api2/json only at the end");
    assert.equal(normaliseEndpoint("https://pve1:8006/pve///api2/json"), "https://pve1:8006/pve");
    assert.throws(() => normaliseEndpoint("pve1:8006/x?u=https://y"), /^Error: the endpoint takes no query or fragment$/, "a scheme only at the start");
    assert.throws(() => normaliseEndpoint("https://pve1:8006/?x=1"), /^Error: the endpoint takes no query or fragment$/);
    assert.throws(() => normaliseEndpoint("https://pve1:8006/#top"), /^Error: the endpoint takes no query or fragment$/);
    assert.throws(() => normaliseEndpoint("https://u@pve1"), /^Error: credentials do not belong in the endpoint URL/);
    assert.throws(() => normaliseEndpoint("https://:pw@pve1"), /^Error: credentials do not belong in the endpoint URL/);
    assert.throws(() => normaliseEndpoint("http://pve1"), /^Error: http:\/\/ would send the API token or password in clear/);
    assert.throws(() => normaliseEndpoint("https://"), /^Error: not a URL: "https:\/\/" \(expected https:\/\/<host>:8006\)$/);
  });

  it("normaliseApiToken and normaliseFingerprint: the forms users paste", () => {
    assert.equal(normaliseApiToken(" pveapitoken=" + TOKEN + " "), TOKEN);
    for (const bad of ["ci@pve!launchpad", "ci!launchpad=x", "ci@pve=x", "ci@pve!id=", "c i@pve!id=x", "ci@pve!id=a b"]) assert.throws(() => normaliseApiToken(bad), /USER@REALM!TOKENID=SECRET/, bad);
    assert.equal(normaliseFingerprint(`sha256 Fingerprint=${FP}`), FP);
    assert.equal(normaliseFingerprint(`  sha256  Fingerprint ${FP}`), FP);
    assert.equal(normaliseApiToken("ci@pve!idPVEAPIToken=sec"), "ci@pve!idPVEAPIToken=sec", "the prefix only at the start");
    assert.equal(normaliseFingerprint(`SHA-256: ${FP.replace(/:/g, "-")}`), FP);
    assert.equal(normaliseFingerprint(FP.replace(/:/g, " ")), FP);
    assert.throws(() => normaliseFingerprint("AB".repeat(31)), /^Error: a SHA-256 fingerprint has 32 bytes \(64 hex digits\), got 62 hex digits$/);
    assert.throws(() => normaliseFingerprint("AB".repeat(20)), /SHA-1/);
  });

  it("endpointProblem: the first endpoint that is set, checked and named by its origin", () => {
    assert.equal(endpointProblem({ override: {}, stackConfig: {}, env: {} }), undefined);
    assert.equal(endpointProblem({ stackConfig: {}, env: {} }), undefined, "no override at all");
    assert.equal(endpointProblem({ override: { endpoint: "https://ok:8006" }, stackConfig: { "launchpad:endpoint": "http://bad" }, env: {} }), undefined);
    assert.deepEqual(endpointProblem({ override: {}, stackConfig: { "launchpad:endpoint": "http://bad" }, env: {} })?.property, "launchpad:endpoint");
    assert.deepEqual(endpointProblem({ override: {}, stackConfig: { "launchpad:endpoint": " " }, env: { PROXMOX_VE_ENDPOINT: "ftp://x" } }), { property: "PROXMOX_VE_ENDPOINT", reason: "unsupported scheme ftp: (expected https://<host>:8006)" });
    assert.equal(endpointProblem({ override: { endpoint: "http://x" }, stackConfig: {}, env: {} })?.property, "connection.endpoint");
  });

  it("inheritedEndpointProblem: only when the resource sets no endpoint of its own and its connection is known", () => {
    setStackConfig({ "launchpad:endpoint": "http://pve1:8006" });
    try {
      assert.equal(inheritedEndpointProblem("04da6b54-80e4-46f7-96ec-b56ff0331ba9"), undefined);
      assert.equal(inheritedEndpointProblem({ endpoint: "https://own:8006" }), undefined);
      assert.equal(inheritedEndpointProblem(undefined)?.property, "launchpad:endpoint");
      assert.match(inheritedEndpointProblem({ apiToken: TOKEN })?.reason ?? "", /^http:\/\/ would send the API token/);
    } finally {
      setStackConfig({});
    }
  });
});
