// Redaction over whole streams and whole messages: the pure pieces (the host-level proof is in
// test/host/secrets.test.ts).
import { strict as assert } from "assert";
import { lineWriter } from "../../provider/deploy/apply";
import { escapeControl, redact, redactingProvider, registerSecret, stripUserinfo } from "../../provider/errors";

/** Feeds `text` to a fresh line writer in the given chunk sizes (bytes) and returns the emitted lines. */
function stream(text: string, sizes: number[]): string[] {
  const lines: string[] = [];
  const writer = lineWriter((line) => lines.push(line));
  const bytes = Buffer.from(text, "utf8");
  let at = 0;
  for (let i = 0; at < bytes.length; i++) {
    const size = sizes[i % sizes.length];
    writer.write(bytes.subarray(at, at + size));
    at += size;
  }
  writer.end();
  return lines;
}

describe("redaction", () => {
  const multiLine = "first-line-of-a-secret\nsecond-line-of-it\nthird é line";
  before(() => {
    registerSecret(multiLine);
    registerSecret("single-line-secret-4711");
  });

  it("masks a multi-line secret and a secret cut by chunk boundaries, at every chunk size", () => {
    const output = `before\n${multiLine}\nbetween single-line-secret-4711 after\nend`;
    for (const sizes of [[1], [2], [3], [7], [5, 1, 13], [64], [4096]]) {
      const lines = stream(output, sizes);
      const joined = lines.join("\n");
      assert.ok(!joined.includes("second-line-of-it") && !joined.includes("first-line-of-a-secret"), `chunks ${sizes}: ${joined}`);
      assert.ok(!joined.includes("single-line-secret-4711"), `chunks ${sizes}: ${joined}`);
      assert.deepEqual(lines, ["before", "[secret]", "between [secret] after", "end"], `chunks ${sizes}`);
    }
  });

  it("keeps a UTF-8 character cut between two chunks whole, and lines with a partial secret prefix that never completes", () => {
    assert.deepEqual(stream("é-ü\nfirst-line-of-a-secret but not the rest\n", [1]), ["é-ü", "first-line-of-a-secret but not the rest"]);
    assert.deepEqual(stream("first-line-of-a-secret\nsecond", [3]), ["first-line-of-a-secret", "second"]);
  });

  it("masks a private key printed over many lines, even unregistered", () => {
    const key = "-----BEGIN OPENSSH PRIVATE KEY-----\nAAAAB3NzaC1yc2EAAAADAQABAAABAQ\nCzZ9\n-----END OPENSSH PRIVATE KEY-----";
    const lines = stream(`x\n${key}\ny\n`, [5]);
    assert.deepEqual(lines, ["x", "[secret]", "y"]);
  });

  it("strips the userinfo of every URL in a message", () => {
    assert.equal(
      stripUserinfo("GET http://admin:hunter2@dns.example:8081/api and https://tok@h/x, ftp://a:b@c"),
      "GET http://dns.example:8081/api and https://h/x, ftp://c",
    );
    assert.equal(redact("fetch https://u:p%40ss@127.0.0.1:9/ failed"), "fetch https://127.0.0.1:9/ failed");
    assert.equal(stripUserinfo("mail alice@example.com, ssh root@host"), "mail alice@example.com, ssh root@host", "not a URL: left alone");
  });

  it("escapes control characters for log labels", () => {
    assert.equal(escapeControl("r1\n[deploy x] forged\r\u001b[2K\t\u0000"), "r1\\n[deploy x] forged\\r\\u001b[2K\\t\\u0000");
    assert.equal(escapeControl("plain label é"), "plain label é");
  });

  it("redacts every error that leaves a provider hook: message, stack and reasons, keeping id and properties", async () => {
    const provider = redactingProvider({
      async create() {
        throw Object.assign(new Error("connect https://root:pw-9931@pve:8006 failed, token=abc123"), { id: "pve1/101", properties: { a: 1 }, reasons: ["see https://u:pw-9931@x/"] });
      },
      async read() {
        throw "https://u:pw-9931@x/ as a string";
      },
    });
    await assert.rejects(provider.create(), (error: Error & { id: string; properties: unknown; reasons: string[] }) => {
      for (const text of [error.message, error.stack ?? "", ...error.reasons]) assert.ok(!text.includes("pw-9931") && !text.includes("abc123"), text);
      assert.equal(error.id, "pve1/101");
      assert.deepEqual(error.properties, { a: 1 });
      return true;
    });
    await assert.rejects(provider.read(), (error: Error) => !error.message.includes("pw-9931"));
  });
});
