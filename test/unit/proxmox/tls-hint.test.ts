// What the client tells a user whose TLS check failed (provider/proxmox/tls.ts): one hint per cause,
// the pin mismatch's own error, and the set of verification codes that mean "never sent".
import { strict as assert } from "assert";
import { PIN_MISMATCH, PinMismatchError, TLS_VERIFY_CODES, tlsHint } from "../../../provider/proxmox/tls";
import { TLS_VERIFICATION_CODES } from "../../../provider/retry";

const endpoint = "https://pve1:8006";

describe("TLS hints", () => {
  it("a pin mismatch: another server or a renewed certificate", () => {
    assert.equal(tlsHint(PIN_MISMATCH, { endpoint, fingerprint: "AB" }), "Either this is not the pinned server, or its certificate was renewed: check launchpad:fingerprint / PROXMOX_VE_FINGERPRINT");
    assert.equal(PIN_MISMATCH, "ERR_LAUNCHPAD_TLS_PIN_MISMATCH");
  });

  it("a certificate for another name: connect by its name or pin it", () => {
    assert.equal(tlsHint("ERR_TLS_CERT_ALTNAME_INVALID", { endpoint, caCert: "pem" }), "The certificate does not name this host: connect by a name the certificate holds, or pin its SHA-256 fingerprint (launchpad:fingerprint)");
  });

  it("a pinned CA that did not sign it, else how to pin", () => {
    assert.equal(tlsHint("UNABLE_TO_VERIFY_LEAF_SIGNATURE", { endpoint, caCert: "pem" }), "The server's certificate is not signed by the pinned CA (launchpad:caCert / PROXMOX_VE_CA_CERT)");
    const hint = tlsHint("DEPTH_ZERO_SELF_SIGNED_CERT", { endpoint });
    assert.match(hint, /^Proxmox uses a self-signed certificate by default: pin its CA with launchpad:caCert \/ PROXMOX_VE_CA_CERT \(\/etc\/pve\/pve-root-ca\.pem\)/);
    assert.match(hint, /launchpad:fingerprint \/ PROXMOX_VE_FINGERPRINT \(Datacenter > node > System > Certificates\); launchpad:insecure=true turns verification off$/);
  });

  it("PinMismatchError names host, expected and got", () => {
    const error = new PinMismatchError("AA:BB", "CC:DD", "pve1:8006");
    assert.equal(error.message, "certificate of pve1:8006 does not match the pinned SHA-256 fingerprint: expected AA:BB, got CC:DD");
    assert.equal(error.code, PIN_MISMATCH);
    assert.equal(error.expected, "AA:BB");
    assert.equal(error.got, "CC:DD");
  });

  it("TLS_VERIFY_CODES holds the retry module's verification codes", () => {
    assert.deepEqual([...TLS_VERIFY_CODES].sort(), [...TLS_VERIFICATION_CODES].sort());
    assert.ok(TLS_VERIFY_CODES.has("DEPTH_ZERO_SELF_SIGNED_CERT"));
  });
});
