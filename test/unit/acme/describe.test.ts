// The facts AcmeCertificate's outputs give of a certificate (expiry, serial, issuer, hash), read from a
// fixed certificate whose values openssl printed: `openssl x509 -noout -dates -serial -issuer`.
import * as assert from "assert";
import { describeCertificate } from "../../../provider/acme/apply";

// A self-signed P-256 certificate, issuer C=DE, O=Launchpad Test, CN=Launchpad Test CA, serial 0x1234ABCD.
const PEM = [
  "-----BEGIN CERTIFICATE-----",
  "MIIByDCCAW+gAwIBAgIEEjSrzTAKBggqhkjOPQQDAjBCMQswCQYDVQQGEwJERTEX",
  "MBUGA1UECgwOTGF1bmNocGFkIFRlc3QxGjAYBgNVBAMMEUxhdW5jaHBhZCBUZXN0",
  "IENBMB4XDTI2MTIwMjExMTQzNFoXDTM2MTEyOTExMTQzNFowQjELMAkGA1UEBhMC",
  "REUxFzAVBgNVBAoMDkxhdW5jaHBhZCBUZXN0MRowGAYDVQQDDBFMYXVuY2hwYWQg",
  "VGVzdCBDQTBZMBMGByqGSM49AgEGCCqGSM49AwEHA0IABCoBDV0+RmsXFX+j4bUY",
  "JTilmW0HGrRRoD7JpBYlz+XuHdMQVYS8i8VHjoqY2kwZVcpaDpJ3nLjWq6mLq5TE",
  "X0ajUzBRMB0GA1UdDgQWBBT9Q7bNQAZkXQWWqJZW33EwqGfxTDAfBgNVHSMEGDAW",
  "gBT9Q7bNQAZkXQWWqJZW33EwqGfxTDAPBgNVHRMBAf8EBTADAQH/MAoGCCqGSM49",
  "BAMCA0cAMEQCIGEZUrbzZhOL3p1Yu7oU5NkmxYWRj9AR6Z3S8pzvyB4iAiA/geFx",
  "oprLq4aSDjkvVcAxRSq6s5fVeD2goxukQvE8DQ==",
  "-----END CERTIFICATE-----",
  "",
].join("\n");

describe("AcmeCertificate certificate facts", () => {
  it("gives the validity as ISO times, the serial, every part of the issuer on one line and the SHA-256 of the text", () => {
    assert.deepStrictEqual(describeCertificate(PEM), {
      notBefore: "2026-12-02T11:14:34.000Z",
      notAfter: "2036-11-29T11:14:34.000Z",
      serialNumber: "1234ABCD",
      issuer: "C=DE, O=Launchpad Test, CN=Launchpad Test CA",
      // sha256sum of the PEM file, its final newline included.
      certificateSha256: "f69df7d4a773e3e2a1550f42c4065fb08e0dc2798e9ca28cacecb08fdd029010",
    });
  });
});
