// The identity tag (provider/container/identity.ts): the generation hash takes every replace-class input
// and nothing else, secrets only through a hash, claims are 6 base-36 characters, the tag's shape is exact.
import { strict as assert } from "assert";
import { createHash } from "node:crypto";
import { identityOf, identityPrefix, isOurIdentityTag, newClaim } from "../../../provider/container/identity";
import { parseInputs, type ContainerInputs } from "../../../provider/container/schema";
import { PUBLIC_KEY, TEMPLATE } from "./fixtures";

const ID = "0123456789abcdef0123456789abcdef";
const inputs = (raw: Record<string, unknown>): ContainerInputs => {
  const { inputs: parsed, failures } = parseInputs({ hostname: "web-1", ...raw });
  assert.deepEqual(failures, []);
  return parsed as ContainerInputs;
};

describe("identity tag", () => {
  it("identityOf: 32 hex digits of SHA-256 over project/stack/urn", () => {
    const id = identityOf("proj", "dev", "urn:pulumi:dev::proj::launchpad:index:LaunchpadContainer::web");
    assert.equal(id, createHash("sha256").update("proj/dev/urn:pulumi:dev::proj::launchpad:index:LaunchpadContainer::web").digest("hex").slice(0, 32));
    assert.match(id, /^[0-9a-f]{32}$/);
    assert.notEqual(identityOf("proj", "prod", "u"), identityOf("proj", "dev", "u"));
  });

  it("identityPrefix: lp-<10 hex>-, the same for the same generation", async () => {
    const base = inputs({ template: TEMPLATE });
    const prefix = await identityPrefix(ID, base);
    assert.match(prefix, /^lp-[0-9a-f]{10}-$/);
    assert.equal(await identityPrefix(ID, inputs({ template: TEMPLATE })), prefix);
    assert.notEqual(await identityPrefix("f".repeat(32), base), prefix, "another resource");
  });

  it("every replace-class input makes another generation; in-place ones and the disk size do not", async () => {
    const base = inputs({ template: TEMPLATE });
    const prefix = await identityPrefix(ID, base);
    const replaces: Array<Record<string, unknown>> = [
      { template: "local:vztmpl/debian-13-standard_13.1-1_amd64.tar.zst" },
      { template: undefined, image: "nginx:1.27" },
      { template: undefined, clone: 900 },
      { node: "pve2" },
      { vmid: 4242 },
      { storage: "local-zfs" },
      { unprivileged: false },
      { pool: "previews" },
      { password: "a-long-password" },
      { sshPublicKeys: [PUBLIC_KEY] },
    ];
    for (const change of replaces) {
      assert.notEqual(await identityPrefix(ID, inputs({ template: TEMPLATE, ...change })), prefix, JSON.stringify(change));
    }
    for (const change of [{ cores: 4 }, { memory: 2048 }, { diskSize: 64 }, { hostname: "web-2" }, { tags: ["x"] }]) {
      assert.equal(await identityPrefix(ID, inputs({ template: TEMPLATE, ...change })), prefix, JSON.stringify(change));
    }
    assert.notEqual(await identityPrefix(ID, inputs({ template: TEMPLATE, password: "another-password" })), await identityPrefix(ID, inputs({ template: TEMPLATE, password: "a-long-password" })));
  });

  it("newClaim: 6 base-36 characters from 8 random bytes, zero-padded", () => {
    assert.equal(newClaim(() => Buffer.alloc(8)), "000000");
    assert.equal(newClaim(() => Buffer.from("0000000000000023", "hex")), "00000z");
    assert.equal(newClaim(() => Buffer.from("ffffffffffffffff", "hex")), BigInt("0xffffffffffffffff").toString(36).slice(-6));
    const sizes: number[] = [];
    newClaim((size) => (sizes.push(size), Buffer.alloc(size)));
    assert.deepEqual(sizes, [8]);
    assert.match(newClaim(), /^[0-9a-z]{6}$/);
  });

  it("isOurIdentityTag: exactly lp-<10 hex>-<6 base-36>", () => {
    assert.equal(isOurIdentityTag("lp-0123456789-abc0yz"), true);
    assert.equal(isOurIdentityTag("lp-0000000000-000000"), true);
    for (const other of ["lp-0123456789-abc0y", "lp-0123456789-abc0yzz", "lp-012345678g-abc0yz", "lp-0123456789-ABC0YZ", "xlp-0123456789-abc0yz", "lp-0123456789-abc0yz-x", "web"]) {
      assert.equal(isOurIdentityTag(other), false, other);
    }
  });
});
