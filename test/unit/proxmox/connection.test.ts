import { strict as assert } from "assert";
import { ConfigError, isLaunchpadError, redact } from "../../../provider/errors";
import { normaliseApiToken, normaliseEndpoint, normaliseFingerprint, resolveConnection } from "../../../provider/proxmox";
import { setStackConfig } from "../../../provider/stackConfig";

const TOKEN = "ci@pve!launchpad=0b5c8f3e-1b2a-4c6d-9e8f-123456789abc";
const OTHER_TOKEN = "root@pam!other=11111111-2222-3333-4444-555555555555";
const FP = "AB:CD:EF:01:23:45:67:89:AB:CD:EF:01:23:45:67:89:AB:CD:EF:01:23:45:67:89:AB:CD:EF:01:23:45:67:89";

function configError(fn: () => unknown): ConfigError {
  try {
    fn();
  } catch (error) {
    assert.ok(isLaunchpadError(error, "ERR_CONFIG"), `expected ConfigError, got ${error}`);
    return error as ConfigError;
  }
  assert.fail("expected a ConfigError");
}

describe("resolveConnection", () => {
  afterEach(() => setStackConfig({}));

  it("takes each field from the override, then the stack config, then the environment", () => {
    const env = { PROXMOX_VE_ENDPOINT: "https://env:8006", PROXMOX_VE_API_TOKEN: TOKEN, PROXMOX_VE_FINGERPRINT: FP };
    assert.deepEqual(resolveConnection({ env, stackConfig: {} }), { endpoint: "https://env:8006", apiToken: TOKEN, fingerprint: FP });

    const stackConfig = { "launchpad:endpoint": "https://stack:8006/" };
    assert.equal(resolveConnection({ env, stackConfig }).endpoint, "https://stack:8006");
    assert.equal(resolveConnection({ env, stackConfig }).apiToken, TOKEN, "token still from the environment");

    const override = { endpoint: "https://override:8006/api2/json", apiToken: OTHER_TOKEN };
    assert.deepEqual(resolveConnection({ env, stackConfig, override }), { endpoint: "https://override:8006", apiToken: OTHER_TOKEN, fingerprint: FP });
  });

  it("reads the stack config given to setStackConfig by default, as configure() would", () => {
    setStackConfig({ get: (key: string) => ({ "launchpad:endpoint": "pve1.example.com:8006", "launchpad:apiToken": TOKEN } as Record<string, string>)[key] });
    assert.deepEqual(resolveConnection({ env: {} }), { endpoint: "https://pve1.example.com:8006", apiToken: TOKEN });
  });

  it("takes authentication as a group from the highest layer that has any of it", () => {
    const env = { PROXMOX_VE_ENDPOINT: "https://pve:8006", PROXMOX_VE_API_TOKEN: TOKEN };
    const stackConfig = { "launchpad:username": "root@pam", "launchpad:password": "hunter2-long" };
    assert.deepEqual(resolveConnection({ env, stackConfig }), { endpoint: "https://pve:8006", username: "root@pam", password: "hunter2-long" });
    // Within one layer the token wins over a password.
    const both = { ...env, PROXMOX_VE_USERNAME: "root@pam", PROXMOX_VE_PASSWORD: "hunter2-long" };
    assert.equal(resolveConnection({ env: both, stackConfig: {} }).apiToken, TOKEN);
    assert.equal(resolveConnection({ env: both, stackConfig: {} }).password, undefined);
  });

  it("takes TLS trust as a group: a fingerprint in the stack is not overruled by PROXMOX_VE_INSECURE", () => {
    const env = { PROXMOX_VE_ENDPOINT: "https://pve:8006", PROXMOX_VE_API_TOKEN: TOKEN, PROXMOX_VE_INSECURE: "true" };
    assert.equal(resolveConnection({ env, stackConfig: {} }).insecure, true);
    const pinned = resolveConnection({ env, stackConfig: { "launchpad:fingerprint": FP.toLowerCase() } });
    assert.equal(pinned.fingerprint, FP);
    assert.equal(pinned.insecure, undefined);
    // insecure=false sets nothing, so a lower layer's pin still applies.
    const falseAbove = resolveConnection({ env: { ...env, PROXMOX_VE_INSECURE: undefined, PROXMOX_VE_FINGERPRINT: FP }, stackConfig: { "launchpad:insecure": "false" } });
    assert.equal(falseAbove.fingerprint, FP);
  });

  it("verifies TLS by default", () => {
    const connection = resolveConnection({ env: { PROXMOX_VE_ENDPOINT: "https://pve:8006", PROXMOX_VE_API_TOKEN: TOKEN }, stackConfig: {} });
    assert.equal(connection.insecure, undefined);
    assert.equal(connection.fingerprint, undefined);
    assert.equal(connection.caCert, undefined);
  });

  it("names what is missing, all at once", () => {
    const error = configError(() => resolveConnection({ env: {}, stackConfig: {} }));
    assert.match(error.message, /launchpad:endpoint/);
    assert.match(error.message, /PROXMOX_VE_ENDPOINT/);
    assert.match(error.message, /launchpad:apiToken/);
    assert.match(error.message, /PROXMOX_VE_API_TOKEN/);
  });

  it("names half-given credentials and bad values with where they came from", () => {
    const env = { PROXMOX_VE_ENDPOINT: "https://pve:8006", PROXMOX_VE_USERNAME: "root@pam" };
    assert.match(configError(() => resolveConnection({ env, stackConfig: {} })).message, /PROXMOX_VE_USERNAME is set but environment variable PROXMOX_VE_PASSWORD is not/);
    const badToken = { PROXMOX_VE_ENDPOINT: "https://pve:8006", PROXMOX_VE_API_TOKEN: "just-a-secret-value" };
    const tokenError = configError(() => resolveConnection({ env: badToken, stackConfig: {} }));
    assert.match(tokenError.message, /PROXMOX_VE_API_TOKEN is not usable: expected an API token shaped USER@REALM!TOKENID=SECRET/);
    assert.doesNotMatch(tokenError.message, /just-a-secret-value/);
    const badFlag = { PROXMOX_VE_ENDPOINT: "https://pve:8006", PROXMOX_VE_API_TOKEN: TOKEN, PROXMOX_VE_INSECURE: "maybe" };
    assert.match(configError(() => resolveConnection({ env: badFlag, stackConfig: {} })).message, /PROXMOX_VE_INSECURE is not usable: expected true or false/);
    const twoPins = { "launchpad:fingerprint": FP, "launchpad:caCert": "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----" };
    assert.match(
      configError(() => resolveConnection({ env: { PROXMOX_VE_ENDPOINT: "https://pve:8006", PROXMOX_VE_API_TOKEN: TOKEN }, stackConfig: twoPins })).message,
      /launchpad:caCert and stack config launchpad:fingerprint are set together/,
    );
    assert.match(
      configError(() => resolveConnection({ env: {}, stackConfig: { "launchpad:endpoint": "https://pve:8006", "launchpad:apiToken": TOKEN, "launchpad:caCert": "not a pem" } })).message,
      /launchpad:caCert is not usable: expected a PEM certificate/,
    );
  });

  it("registers every secret it finds, so no message can show it", () => {
    const password = "correct-horse-battery-staple";
    resolveConnection({ env: { PROXMOX_VE_ENDPOINT: "https://pve:8006", PROXMOX_VE_USERNAME: "root@pam", PROXMOX_VE_PASSWORD: password }, stackConfig: {} });
    assert.equal(redact(`login with ${password} failed`), "login with [secret] failed");
    const tokenSecret = "9d1c7e2a-0000-4000-8000-00000000beef";
    resolveConnection({ env: { PROXMOX_VE_ENDPOINT: "https://pve:8006" }, stackConfig: { "launchpad:apiToken": `ci@pve!x=${tokenSecret}` } });
    assert.doesNotMatch(redact(`the secret is ${tokenSecret}`), new RegExp(tokenSecret));
    // Even a token too malformed to use is masked in the error that rejects it.
    const malformed = "ci@pve-no-bang=f00dfeedcafe";
    const error = configError(() => resolveConnection({ env: { PROXMOX_VE_ENDPOINT: "https://pve:8006", PROXMOX_VE_API_TOKEN: malformed }, stackConfig: {} }));
    assert.doesNotMatch(error.message + String(error.stack), /f00dfeedcafe/);
  });
});

describe("normaliseEndpoint", () => {
  for (const form of ["https://pve1:8006", "https://pve1:8006/", "https://pve1:8006/api2/json", "https://pve1:8006/api2/json/", " pve1:8006 ", "HTTPS://PVE1:8006"]) {
    it(`reads ${JSON.stringify(form)} as https://pve1:8006`, () => assert.equal(normaliseEndpoint(form), "https://pve1:8006"));
  }
  it("keeps a reverse proxy's path prefix", () => assert.equal(normaliseEndpoint("https://proxy.example.com/pve/api2/json"), "https://proxy.example.com/pve"));
  it("rejects credentials, other schemes and garbage", () => {
    assert.throws(() => normaliseEndpoint("https://root:pw@pve:8006"), /credentials do not belong/);
    assert.throws(() => normaliseEndpoint("ftp://pve:8006"), /unsupported scheme/);
    assert.throws(() => normaliseEndpoint("https://"), /not a URL/);
  });
  it("refuses plain http://: the token would travel in clear", () => {
    assert.throws(() => normaliseEndpoint("http://pve1:8006"), /http:\/\/ would send the API token or password in clear/);
  });
});

describe("normaliseFingerprint", () => {
  const canonical = FP;
  const bare = FP.replace(/:/g, "");
  for (const form of [canonical, canonical.toLowerCase(), bare, bare.toLowerCase(), `sha256 Fingerprint=${canonical}`, `SHA256:${bare}`, canonical.replace(/:/g, " ")]) {
    it(`accepts ${form.slice(0, 28)}...`, () => assert.equal(normaliseFingerprint(form), canonical));
  }
  it("rejects a SHA-1 fingerprint, saying so", () => assert.throws(() => normaliseFingerprint("AB:".repeat(19) + "AB"), /SHA-1/));
  it("rejects wrong lengths and non-hex", () => {
    assert.throws(() => normaliseFingerprint("AB:CD"), /64 hex digits\), got 4 hex digits/);
    assert.throws(() => normaliseFingerprint("ZZ".repeat(32)), /hex digits/);
  });
});

describe("normaliseApiToken", () => {
  it("accepts USER@REALM!ID=SECRET, with or without the PVEAPIToken= prefix", () => {
    assert.equal(normaliseApiToken(TOKEN), TOKEN);
    assert.equal(normaliseApiToken(`PVEAPIToken=${TOKEN}`), TOKEN);
  });
  it("rejects a token without a realm, id or secret", () => {
    for (const bad of ["ci!x=1", "ci@pve=1", "ci@pve!x", "ci@pve!x="]) assert.throws(() => normaliseApiToken(bad), /USER@REALM!TOKENID=SECRET/, bad);
  });
});
