// The value checks behind `check`'s messages: each SSH key problem says which one it is (the user fixes the
// key by it), DNS names up to 253 characters, and the `:latest` a reference without a tag gets.
import { strict as assert } from "assert";
import { isDnsName, normalizeImageReference, sshPublicKeyProblem } from "../../../provider/container/schema";
import { PUBLIC_KEY } from "./fixtures";

const [TYPE, BODY] = PUBLIC_KEY.split(" ");
const blob = (name: string, rest = Buffer.alloc(32, 1)) => {
  const length = Buffer.alloc(4);
  length.writeUInt32BE(name.length);
  return Buffer.concat([length, Buffer.from(name, "latin1"), rest]).toString("base64");
};
const MISMATCH = "is not an OpenSSH public key (the key data does not match its type)";

describe("container value checks", () => {
  it("an OpenSSH public key: one line, a known type, base64 data whose embedded type is the same", () => {
    assert.equal(sshPublicKeyProblem(PUBLIC_KEY), undefined);
    assert.equal(sshPublicKeyProblem(`  ${TYPE}\t${BODY}  \n`), undefined, "surrounding blanks and one trailing newline are fine");
    assert.equal(sshPublicKeyProblem(`${TYPE} ${BODY}`), undefined, "no comment");
    assert.equal(sshPublicKeyProblem(`${TYPE}  ${BODY}  comment`), undefined, "several blanks between the fields");
    assert.equal(sshPublicKeyProblem("-----BEGIN OPENSSH PRIVATE KEY-----"), "is a private key; give the public key (the .pub file)");
    assert.equal(sshPublicKeyProblem(`${PUBLIC_KEY}\n${PUBLIC_KEY}`), "must be one key on one line");
    assert.match(sshPublicKeyProblem(`ssh-foo ${BODY}`)!, /^is not an OpenSSH public key \(type must be one of ssh-ed25519, /);
    assert.match(sshPublicKeyProblem("")!, /type must be one of/);
    assert.equal(sshPublicKeyProblem(TYPE), "is not an OpenSSH public key (the key data is not base64)");
    assert.equal(sshPublicKeyProblem(`${TYPE} ${BODY}!`), "is not an OpenSSH public key (the key data is not base64)");
    assert.equal(sshPublicKeyProblem(`${TYPE} !${BODY}`), "is not an OpenSSH public key (the key data is not base64)");
    assert.equal(sshPublicKeyProblem(`${TYPE} ${blob("ssh-rsa")}`), MISMATCH);
    assert.equal(sshPublicKeyProblem(`${TYPE} ${blob("")}`), MISMATCH, "no type inside");
    assert.equal(sshPublicKeyProblem(`${TYPE} AAA=`), MISMATCH, "shorter than its length field");
    assert.equal(sshPublicKeyProblem(`${TYPE} ${Buffer.from([0, 0, 0, 11, 0x73, 0x73, 0x68]).toString("base64")}`), MISMATCH, "cut inside the type");
    assert.equal(sshPublicKeyProblem(`${TYPE} ${blob(TYPE, Buffer.alloc(0))}`), undefined, "exactly the type, nothing after it, still parses");
  });

  it("a DNS name of up to 253 characters, every label valid", () => {
    const label = "a".repeat(63);
    const name253 = [label, label, label, "a".repeat(61)].join(".");
    assert.equal(name253.length, 253);
    assert.equal(isDnsName(name253), true);
    assert.equal(isDnsName(`${name253}a`), false);
    assert.equal(isDnsName("ok.bad_label.test"), false);
    assert.equal(isDnsName("preview.example.test"), true);
  });

  it("adds :latest only when the last path segment has no tag (a registry port is not a tag)", () => {
    assert.equal(normalizeImageReference("nginx"), "nginx:latest");
    assert.equal(normalizeImageReference("nginx:1.27"), "nginx:1.27");
    assert.equal(normalizeImageReference("registry.test:5000/app"), "registry.test:5000/app:latest");
    assert.equal(normalizeImageReference("registry.test:5000/app:v2"), "registry.test:5000/app:v2");
  });
});
