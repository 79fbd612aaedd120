import * as assert from "assert";
import { createHash } from "crypto";
import { DNS_LABEL, isDnsLabel, previewName, stackName, toDnsLabel } from "../../src/naming";

const sha8 = (text: string) => createHash("sha256").update(text, "utf8").digest("hex").slice(0, 8);
const name = (branch: string, owner: string | undefined = "acme", repository = "shop") => previewName({ owner, repository, branch });

/** Deterministic PRNG (mulberry32): property runs are reproducible from the seed in the message. */
function random(seed: number): () => number {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
const ALPHABET = ["a", "Z", "0", "9", "-", "-", "_", ".", "/", " ", "é", "ß", "İ", "K", "😀", "\u0000", "\t", "ä", "漢", "@", "~"];
function randomString(next: () => number, maxLength: number): string {
  const length = Math.floor(next() * (maxLength + 1));
  return Array.from({ length }, () => ALPHABET[Math.floor(next() * ALPHABET.length)]).join("");
}

describe("naming", () => {
  describe("previewName", () => {
    it("joins owner, repository and branch, lower-cased", () => {
      assert.strictEqual(name("main", "Acme", "Shop"), "acme-shop-main");
    });

    it("turns slashes, dots, underscores and spaces into single hyphens", () => {
      assert.strictEqual(name("feature/login"), "acme-shop-feature-login");
      assert.strictEqual(name("release/v1.2.3"), "acme-shop-release-v1-2-3");
      assert.strictEqual(name("fix__the  bug//now"), "acme-shop-fix-the-bug-now");
      assert.strictEqual(name("feat/UPPER-Case"), "acme-shop-feat-upper-case");
    });

    it("drops a refs/heads/ prefix", () => {
      assert.strictEqual(name("refs/heads/feature/login"), name("feature/login"));
    });

    it("never starts or ends with a hyphen, whatever the branch", () => {
      assert.strictEqual(name("--leading-dashes"), "acme-shop-leading-dashes");
      assert.strictEqual(name("trailing/"), "acme-shop-trailing");
      assert.strictEqual(toDnsLabel("-x-"), "x");
    });

    it("replaces unicode and emoji by hyphens, as Launchpad does", () => {
      assert.strictEqual(name("café-ünïcode"), "acme-shop-caf-n-code");
      assert.strictEqual(name("🚀-launch"), "acme-shop-launch");
      assert.strictEqual(name("漢字/test"), "acme-shop-test");
    });

    it("gives a branch of only symbols a hash instead of nothing, distinct per branch", () => {
      const a = name("!!!");
      const b = name("???");
      assert.strictEqual(a, `acme-shop-${sha8("!!!")}`);
      assert.notStrictEqual(a, b);
      assert.match(name("😀😀"), /^acme-shop-[0-9a-f]{8}$/);
    });

    it("leaves the owner out when absent", () => {
      assert.strictEqual(previewName({ repository: "shop", branch: "main" }), "shop-main");
      assert.strictEqual(previewName({ owner: "", repository: "shop", branch: "main" }), "shop-main");
    });

    it("cuts a long name to 54 characters plus - and 8 hex of the SHA-256 of the whole name", () => {
      const branch = "b".repeat(200);
      const whole = `acme-shop-${branch}`;
      const result = name(branch);
      assert.strictEqual(result, `${whole.slice(0, 54)}-${sha8(whole)}`);
      assert.strictEqual(result.length, 63);
    });

    it("keeps a name of exactly 63 characters as it is, and cuts one of 64", () => {
      const exact = name("x".repeat(63 - "acme-shop-".length));
      assert.strictEqual(exact, `acme-shop-${"x".repeat(53)}`);
      const over = name("x".repeat(64 - "acme-shop-".length));
      assert.strictEqual(over.length, 63);
      assert.match(over, /-[0-9a-f]{8}$/);
    });

    it("does not leave a hyphen before the hash when the cut lands on one", () => {
      // Character 54 of the whole name is a hyphen.
      const branch = `${"a".repeat(43)}-${"c".repeat(80)}`;
      const result = name(branch);
      assert.ok(!result.includes("--"), result);
      assert.strictEqual(result, `acme-shop-${"a".repeat(43)}-${sha8(`acme-shop-${branch}`)}`);
    });

    it("keeps two long names that share their first 54 characters apart", () => {
      const shared = "feature/" + "x".repeat(60);
      const a = name(`${shared}-one`);
      const b = name(`${shared}-two`);
      assert.strictEqual(a.slice(0, 54), b.slice(0, 54));
      assert.notStrictEqual(a, b);
    });

    it("is stable: the same inputs give the same name", () => {
      assert.strictEqual(name("feature/" + "z".repeat(100)), name("feature/" + "z".repeat(100)));
    });
  });

  describe("stackName", () => {
    it("derives the stack from the branch by the same rules", () => {
      assert.strictEqual(stackName("refs/heads/Feature/Login"), "feature-login");
      assert.strictEqual(stackName("main"), "main");
      assert.strictEqual(stackName("!!!"), sha8("!!!"));
      const long = stackName("f".repeat(200));
      assert.strictEqual(long, `${"f".repeat(54)}-${sha8("f".repeat(200))}`);
    });
  });

  describe("DNS label check", () => {
    it("accepts labels and rejects what a hostname cannot be", () => {
      for (const good of ["a", "a-b", "0", "a".repeat(63), "x1-y2"]) assert.ok(isDnsLabel(good), good);
      for (const bad of ["", "-a", "a-", "A", "a_b", "a.b", "a".repeat(64), "é"]) assert.ok(!isDnsLabel(bad), bad);
    });
  });

  describe("properties over random strings", () => {
    const SEED = 20240601;
    const next = random(SEED);
    const samples = Array.from({ length: 3000 }, () => ({
      owner: next() < 0.2 ? undefined : randomString(next, 30),
      repository: randomString(next, 40),
      branch: randomString(next, 150),
    }));

    it("always gives a valid DNS label of at most 63 characters", () => {
      for (const args of samples) {
        const result = previewName(args);
        assert.match(result, DNS_LABEL, `seed ${SEED}: ${JSON.stringify(args)} -> ${result}`);
        assert.ok(!result.includes("--"), `seed ${SEED}: ${JSON.stringify(args)} -> ${result}`);
        const stack = stackName(args.branch);
        assert.match(stack, DNS_LABEL, `seed ${SEED}: stack of ${JSON.stringify(args.branch)} -> ${stack}`);
      }
    });

    it("is idempotent: a derived name maps to itself", () => {
      for (const args of samples) {
        const result = previewName(args);
        assert.strictEqual(toDnsLabel(result), result);
        assert.strictEqual(stackName(stackName(args.branch)), stackName(args.branch));
      }
    });

    it("keeps a short, already clean name unchanged", () => {
      for (const args of samples) {
        const clean = toDnsLabel(args.branch);
        if (clean.length < 40) assert.strictEqual(previewName({ repository: "r", branch: clean }), `r-${clean}`);
      }
    });

    it("gives distinct long branches distinct names", () => {
      const seen = new Map<string, string>();
      for (let i = 0; i < 2000; i++) {
        const branch = "feature/" + "y".repeat(70) + "/" + i.toString(36);
        const result = name(branch);
        assert.ok(!seen.has(result), `${branch} and ${seen.get(result)} both give ${result}`);
        seen.set(result, branch);
      }
    });
  });
});
