// A self-signed certificate for a test HTTPS server on 127.0.0.1 (EC P-256, the address in its SAN), with
// the SHA-256 fingerprint a client pins it by.
import * as crypto from "crypto";
import selfsigned = require("selfsigned");

export async function loopbackCertificate(commonName: string): Promise<{ key: string; cert: string; fingerprint: string }> {
  const pems = await selfsigned.generate([{ name: "commonName", value: commonName }], {
    keyType: "ec",
    curve: "P-256",
    algorithm: "sha256",
    extensions: [{ name: "subjectAltName", altNames: [{ type: 7, ip: "127.0.0.1" }] }],
  } as never);
  return { key: pems.private, cert: pems.cert, fingerprint: new crypto.X509Certificate(pems.cert).fingerprint256 };
}
