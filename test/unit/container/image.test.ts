// The pure parts of copying a private image: auth file, references, archive names, and the inputs' checks.
import { strict as assert } from "assert";
import { archiveName, authFileText, pinnedReference, registryHost } from "../../../provider/container/image";
import { diffInputs } from "../../../provider/container/diff";
import { parseInputs } from "../../../provider/container/schema";

const DIGEST = `sha256:${"0123456789abcdef".repeat(4)}`;

describe("private image copy (pure parts)", () => {
  it("keys the auth file by the reference's registry, docker.io when it names none", () => {
    assert.equal(registryHost("ghcr.io/acme/shop:pr-7"), "ghcr.io");
    assert.equal(registryHost("127.0.0.1:5000/app:v1"), "127.0.0.1:5000");
    assert.equal(registryHost("localhost/app"), "localhost");
    assert.equal(registryHost("acme/shop:1"), "docker.io");
    assert.equal(registryHost("nginx"), "docker.io");
    assert.equal(registryHost("localhost"), "docker.io", "an image named localhost");
    assert.equal(registryHost("mylocalhost/app"), "docker.io");
    assert.equal(registryHost("localhostx/app"), "docker.io");
    const text = authFileText("ghcr.io/acme/shop:pr-7", { username: "x-access-token", password: "ghs_secret" });
    assert.deepEqual(JSON.parse(text), { auths: { "ghcr.io": { auth: Buffer.from("x-access-token:ghs_secret").toString("base64") } } });
  });

  it("pins a tag to the digest it named, so a tag moved during the copy cannot mix", () => {
    assert.equal(pinnedReference("127.0.0.1:5000/app:v1", DIGEST), `127.0.0.1:5000/app@${DIGEST}`);
    assert.equal(pinnedReference("ghcr.io/acme/shop", DIGEST), `ghcr.io/acme/shop@${DIGEST}`);
  });

  it("names the archive by stem and digest: a bare .tar, as VZTMPL_EXT_RE_1 allows", () => {
    assert.equal(archiveName("ghcr.io_acme_shop_pr-7", DIGEST), `ghcr.io_acme_shop_pr-7_${"0123456789abcdef".repeat(4)}.tar`);
  });

  it("checks imageCredentials in check: fields named, only with image, never echoing the password", () => {
    const base = { hostname: "web", image: "ghcr.io/acme/shop:pr-7" };
    assert.deepEqual(parseInputs({ ...base, imageCredentials: { username: "u", password: "p" } }).failures, []);
    const missing = parseInputs({ ...base, imageCredentials: { username: "u" } }).failures;
    assert.deepEqual(missing.map((f) => f.property), ["imageCredentials.password"]);
    const extra = parseInputs({ ...base, imageCredentials: { username: "u", password: "hunter22", token: "x" } }).failures;
    assert.ok(extra.some((f) => f.property.startsWith("imageCredentials")), JSON.stringify(extra));
    assert.ok(!JSON.stringify(extra).includes("hunter22"));
    const noImage = parseInputs({ hostname: "web", template: "local:vztmpl/debian-12-standard_12.7-1_amd64.tar.zst", imageCredentials: { username: "u", password: "p" } }).failures;
    assert.deepEqual(noImage.map((f) => f.property), ["imageCredentials"]);
  });

  it("rotated credentials reach the state without touching the container", () => {
    const olds = parseInputs({ hostname: "web", image: "ghcr.io/acme/shop:pr-7", imageCredentials: { username: "u", password: "old" } }).inputs!;
    const news = parseInputs({ hostname: "web", image: "ghcr.io/acme/shop:pr-7", imageCredentials: { username: "u", password: "new" } }).inputs!;
    const diff = diffInputs(olds, news);
    assert.equal(diff.changes, true);
    assert.deepEqual(diff.replaces, []);
    assert.deepEqual(diff.fields, [{ field: "imageCredentials", class: "stateOnly" }]);
  });
});
