// The sandbox's self-signed certificate, made once per start, and its fingerprint in the
// `AB:CD:...` form Proxmox shows (and clients pin).
import * as crypto from "crypto";
import selfsigned = require("selfsigned");

export interface SandboxCertificate {
  cert: string;
  key: string;
  fingerprint: string;
}

export async function makeCertificate(host: string): Promise<SandboxCertificate> {
  const altNames: Array<{ type: 2; value: string } | { type: 7; ip: string }> = [
    { type: 2, value: "localhost" },
    { type: 7, ip: "127.0.0.1" },
    { type: 7, ip: "::1" },
  ];
  if (host !== "127.0.0.1" && host !== "localhost" && host !== "::1") {
    altNames.push(/^[\d.]+$|:/.test(host) ? { type: 7, ip: host } : { type: 2, value: host });
  }
  const notBeforeDate = new Date(Date.now() - 60_000);
  const pems = await selfsigned.generate(
    [{ name: "commonName", value: "pve-sandbox.invalid" }, { name: "organizationName", value: "PVE Sandbox" }],
    {
      keyType: "ec",
      curve: "P-256",
      algorithm: "sha256",
      notBeforeDate,
      notAfterDate: new Date(notBeforeDate.getTime() + 30 * 24 * 3600_000),
      extensions: [
        { name: "basicConstraints", cA: true },
        { name: "keyUsage", digitalSignature: true, keyCertSign: true, keyEncipherment: true },
        { name: "extKeyUsage", serverAuth: true },
        { name: "subjectAltName", altNames },
      ],
    },
  );
  const fingerprint = new crypto.X509Certificate(pems.cert).fingerprint256.toUpperCase();
  return { cert: pems.cert, key: pems.private, fingerprint };
}
