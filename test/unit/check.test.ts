// The shared input-check pipeline (provider/check.ts) and the host's value helpers (provider/hostValues.ts):
// field naming, the wording of each problem, preview values skipped, the shared field schemas' bounds.
import { strict as assert } from "assert";
import { z } from "zod";
import {
  checkInputs, containsUnknown, dnsName, envNameProblem, envRecord, fieldPath, hostAddress, isDnsName, portNumber, problemsOf, semverVersion,
  UNKNOWN_KEY_REASON,
} from "../../provider/check";
import { definedOnly, isUnknownAt, UNKNOWN, withoutProvider } from "../../provider/hostValues";

const issuesOf = (schema: z.ZodType, value: unknown) => {
  const parsed = schema.safeParse(value);
  assert.equal(parsed.success, false, "the value was meant to fail");
  return parsed.error!.issues;
};
const messageOf = (schema: z.ZodType, value: unknown) => issuesOf(schema, value).map((i) => i.message).join("; ");

describe("check pipeline (provider/check.ts)", () => {
  describe("fieldPath", () => {
    it("joins keys with dots and indexes in brackets", () => {
      assert.equal(fieldPath([]), "");
      assert.equal(fieldPath(["a"]), "a");
      assert.equal(fieldPath(["a", "b", 2, "c"]), "a.b[2].c");
      assert.equal(fieldPath([0, "x"]), "[0].x");
      assert.equal(fieldPath(["tags", 1]), "tags[1]");
    });
  });

  describe("containsUnknown", () => {
    it("finds the unknown marker at any depth, in arrays and objects", () => {
      assert.equal(containsUnknown(UNKNOWN), true);
      assert.equal(containsUnknown("x"), false);
      assert.equal(containsUnknown(null), false);
      assert.equal(containsUnknown([1, [2, UNKNOWN]]), true);
      assert.equal(containsUnknown([1, [2, 3]]), false);
      assert.equal(containsUnknown({ a: { b: UNKNOWN } }), true);
      assert.equal(containsUnknown({ a: { b: "c" } }), false);
      assert.equal(containsUnknown(42), false);
    });
  });

  describe("problemsOf", () => {
    const schema = z.strictObject({
      name: z.string().min(2, "must have two characters"),
      inner: z.strictObject({ port: z.number() }).optional(),
      ip: z.union([z.literal("dhcp"), z.strictObject({ address: z.string().regex(/\//, "needs a prefix") })]).optional(),
    });

    it("names every unknown key, a missing value as required, the schema's message otherwise", () => {
      const raw = { name: "x", extra: 1, other: 2, inner: { port: "80", more: true } };
      const problems = problemsOf(issuesOf(schema, raw), raw);
      assert.deepEqual(problems.sort((a, b) => a.property.localeCompare(b.property)), [
        { property: "extra", reason: UNKNOWN_KEY_REASON },
        { property: "inner.more", reason: UNKNOWN_KEY_REASON },
        { property: "inner.port", reason: "Invalid input: expected number, received string" },
        { property: "name", reason: "must have two characters" },
        { property: "other", reason: UNKNOWN_KEY_REASON },
      ]);
      assert.deepEqual(problemsOf(issuesOf(schema, {}), {}), [{ property: "name", reason: "is required" }]);
    });

    it("skips problems of values not known yet, and of values inside them", () => {
      const raw = { name: UNKNOWN, inner: UNKNOWN };
      const strict = z.strictObject({ name: z.number(), inner: z.strictObject({ port: z.number() }) });
      assert.deepEqual(problemsOf(issuesOf(strict, raw), raw), []);
    });

    it("narrows a union to the one option the value's type fits, naming the field inside it", () => {
      const raw = { name: "ok", ip: { address: "10.0.0.1" } };
      assert.deepEqual(problemsOf(issuesOf(schema, raw), raw), [{ property: "ip.address", reason: "needs a prefix" }]);
      const unknownKey = { name: "ok", ip: { address: "10.0.0.1/8", gw: "x" } };
      assert.deepEqual(problemsOf(issuesOf(schema, unknownKey), unknownKey), [{ property: "ip.gw", reason: UNKNOWN_KEY_REASON }]);
    });

    it("a union no option fits is one problem for the field", () => {
      const raw = { name: "ok", ip: 7 };
      const problems = problemsOf(issuesOf(schema, raw), raw);
      assert.equal(problems.length, 1);
      assert.equal(problems[0].property, "ip");
    });

    it("prefixes nested problems, names the whole inputs when there is no path, and reports a problem once", () => {
      assert.deepEqual(problemsOf(issuesOf(z.string(), 5), 5, ["env", "A"]), [{ property: "env.A", reason: "Invalid input: expected string, received number" }]);
      assert.deepEqual(problemsOf(issuesOf(z.string().min(3, "short"), "a"), "a"), [{ property: "(inputs)", reason: "short" }]);
      const twice = issuesOf(z.string().superRefine((_v, ctx) => {
        ctx.addIssue({ code: "custom", message: "bad" });
        ctx.addIssue({ code: "custom", message: "bad" });
        ctx.addIssue({ code: "custom", message: "worse" });
      }), "x");
      assert.deepEqual(problemsOf(twice, "x").map((p) => p.reason), ["bad", "worse"]);
    });
  });

  describe("checkInputs", () => {
    const schema = z.strictObject({ name: z.string(), size: z.number().default(8) });

    it("complete inputs come back parsed (defaults filled), the serialized provider left out", () => {
      const checked = checkInputs(schema, { name: "a", __provider: "serialized" });
      assert.deepEqual(checked, { ok: true, complete: true, inputs: { name: "a", size: 8 }, problems: [] });
    });

    it("a value not known yet returns the raw inputs as they are", () => {
      const checked = checkInputs(schema, { name: UNKNOWN, __provider: "p" });
      assert.deepEqual(checked, { ok: true, complete: false, inputs: { name: UNKNOWN }, problems: [] });
      const nested = checkInputs(z.strictObject({ list: z.array(z.string()) }), { list: ["a", UNKNOWN] });
      assert.deepEqual(nested, { ok: true, complete: false, inputs: { list: ["a", UNKNOWN] }, problems: [] });
    });

    it("collects the schema's and the cross-field problems, dropping cross-field ones about unknown values", () => {
      const checked = checkInputs(schema, { name: 5, size: UNKNOWN }, () => [
        { property: "size", reason: "too big" },
        { property: "name", reason: "clashes" },
      ]);
      assert.deepEqual(checked, {
        ok: false,
        problems: [{ property: "name", reason: "clashes" }, { property: "name", reason: "Invalid input: expected string, received number" }],
      });
    });

    it("the extra check sees the inputs without the provider", () => {
      let seen: Record<string, unknown> | undefined;
      checkInputs(schema, { name: "a", __provider: "p" }, (inputs) => ((seen = inputs), []));
      assert.deepEqual(seen, { name: "a" });
    });
  });

  describe("shared field schemas", () => {
    it("isDnsName: labels of at most 63, names of at most 253, an optional final dot", () => {
      const label63 = "a".repeat(63);
      assert.equal(isDnsName("example.com"), true);
      assert.equal(isDnsName("example.com."), true);
      assert.equal(isDnsName("a"), true);
      assert.equal(isDnsName(""), false);
      assert.equal(isDnsName("."), false);
      assert.equal(isDnsName(label63), true);
      assert.equal(isDnsName("a".repeat(64)), false);
      assert.equal(isDnsName("-a.com"), false);
      assert.equal(isDnsName("a-.com"), false);
      assert.equal(isDnsName("a..com"), false);
      assert.equal(isDnsName("a_b.com"), false);
      const name253 = [label63, label63, label63, "a".repeat(61)].join(".");
      assert.equal(name253.length, 253);
      assert.equal(isDnsName(name253), true);
      assert.equal(isDnsName(`${name253}.`), true);
      assert.equal(isDnsName(`${name253}a`), false);
    });

    it("dnsName and hostAddress say what they take", () => {
      assert.equal(dnsName.safeParse("ok.example").success, true);
      assert.match(messageOf(dnsName, "bad_name"), /^must be a DNS name: labels of letters/);
      assert.equal(hostAddress.safeParse("10.0.0.1").success, true);
      assert.equal(hostAddress.safeParse("fd00::1").success, true);
      assert.equal(hostAddress.safeParse("host.example").success, true);
      assert.equal(messageOf(hostAddress, "no way"), "must be an IP address or a DNS hostname (letters, digits, '-', '.')");
      assert.match(messageOf(hostAddress, "a".repeat(254)), /must be at most 253 characters/);
    });

    it("portNumber: whole numbers 1-65535", () => {
      assert.equal(portNumber.safeParse(1).success, true);
      assert.equal(portNumber.safeParse(65535).success, true);
      assert.equal(messageOf(portNumber, 0), "must be 1-65535");
      assert.equal(messageOf(portNumber, 65536), "must be 1-65535");
      assert.equal(messageOf(portNumber, 80.5), "must be a whole number");
    });

    it("envNameProblem: each reason in its own words", () => {
      assert.equal(envNameProblem("PATH"), undefined);
      assert.equal(envNameProblem("_x9"), undefined);
      assert.match(envNameProblem("9x") ?? "", /^is not a POSIX variable name/);
      assert.match(envNameProblem("A-B") ?? "", /^is not a POSIX variable name/);
      assert.match(envNameProblem("x y") ?? "", /^is not a POSIX variable name/);
      assert.match(envNameProblem("constructor") ?? "", /^is a name JavaScript objects reserve/);
      assert.match(envNameProblem("__proto__") ?? "", /^is a name JavaScript objects reserve/);
      assert.match(envNameProblem("hasOwnProperty") ?? "", /^is a name JavaScript objects reserve/);
      assert.equal(envNameProblem("A".repeat(255)), undefined);
      assert.equal(envNameProblem("A".repeat(256)), "must be at most 255 characters");
    });

    it("envRecord: names the bad key, refuses NUL, passes a good record", () => {
      assert.deepEqual(envRecord.parse({ A: "1", B_2: "x" }), { A: "1", B_2: "x" });
      const bad = envRecord.safeParse(JSON.parse('{"OK":"1","1X":"2","__proto__":"3"}'));
      assert.equal(bad.success, false);
      assert.deepEqual(bad.error!.issues.map((i) => i.path.join(".")).sort(), ["1X", "__proto__"]);
      const nul = envRecord.safeParse({ A: "a\0b" });
      assert.deepEqual(nul.error!.issues.map((i) => [i.path.join("."), i.message]), [["A", "must not contain NUL"]]);
      assert.equal(envRecord.safeParse(["A"]).success, false);
      assert.equal(envRecord.safeParse(null).success, false);
    });

    it("semverVersion: digits and dots only", () => {
      assert.equal(semverVersion.safeParse("2.333.1").success, true);
      assert.equal(semverVersion.safeParse("0.0.0").success, true);
      assert.equal(messageOf(semverVersion, "1.2"), "must be a version such as 2.333.1 (digits and dots only)");
      assert.equal(semverVersion.safeParse("01.2.3").success, false);
      assert.equal(semverVersion.safeParse("1.2.3/../x").success, false);
      assert.equal(semverVersion.safeParse("x1.2.3").success, false);
      assert.equal(semverVersion.safeParse("1234567.0.0").success, false);
    });
  });
});

describe("host values (provider/hostValues.ts)", () => {
  it("isUnknownAt: the value, or an object on the way to it, is unknown", () => {
    assert.equal(isUnknownAt(UNKNOWN, []), true);
    assert.equal(isUnknownAt({ a: UNKNOWN }, ["a"]), true);
    assert.equal(isUnknownAt({ a: UNKNOWN }, ["a", "b", "c"]), true);
    assert.equal(isUnknownAt({ a: { b: UNKNOWN } }, ["a", "b"]), true);
    assert.equal(isUnknownAt({ a: { b: "x" } }, ["a", "b"]), false);
    assert.equal(isUnknownAt({ a: "x" }, ["a", "b"]), false);
    assert.equal(isUnknownAt({ a: null }, ["a", "b"]), false);
    assert.equal(isUnknownAt({ list: ["x", UNKNOWN] }, ["list", 1]), true);
    assert.equal(isUnknownAt({}, ["a"]), false);
  });

  it("withoutProvider leaves out __provider only, and takes undefined", () => {
    assert.deepEqual(withoutProvider({ __provider: "p", a: 1, b: undefined }), { a: 1, b: undefined });
    assert.deepEqual(withoutProvider(undefined), {});
  });

  it("definedOnly drops undefined keys at every depth, keeps null and arrays", () => {
    assert.deepEqual(definedOnly({ a: undefined, b: null, c: [{ d: undefined, e: 1 }], f: { g: undefined, h: "x" } }), { b: null, c: [{ e: 1 }], f: { h: "x" } });
    assert.equal(definedOnly("s"), "s");
    assert.equal(definedOnly(null), null);
    assert.deepEqual(definedOnly([1, undefined]), [1, undefined]);
  });
});
