// The deploy log's line writer on the edges of a held-back secret: a secret whose first line is one
// character, and a held-back part that ends in a newline when the stream ends.
import { strict as assert } from "assert";
import { lineWriter } from "../../../provider/deploy/apply";
import { registerSecret } from "../../../provider/errors";

function writer() {
  const lines: string[] = [];
  return { lines, ...lineWriter((line) => lines.push(line)) };
}

describe("deploy log line writer", () => {
  before(() => {
    registerSecret("Z\nsecret-tail-4712");
    registerSecret("tok1\nrest-of-secret-4713");
  });

  it("holds back a line that may start a secret, even a one-character one, until it knows", () => {
    const w = writer();
    w.write(Buffer.from("ab\nZ\n"));
    assert.deepStrictEqual(w.lines, ["ab"], "the Z line may be the secret's first line: not out yet");
    w.write(Buffer.from("secret-tail-4712\nafter\n"));
    assert.deepStrictEqual(w.lines, ["ab", "[secret]", "after"]);
    w.end();
    assert.deepStrictEqual(w.lines, ["ab", "[secret]", "after"]);
  });

  it("lets a held-back line out when the stream ends, without an empty line after it", () => {
    const w = writer();
    w.write(Buffer.from("tok1\n"));
    assert.deepStrictEqual(w.lines, []);
    w.end();
    assert.deepStrictEqual(w.lines, ["tok1"]);
  });

  it("emits a last line without a newline at the end, and nothing for an empty stream", () => {
    const w = writer();
    w.write(Buffer.from("one\ntwo"));
    assert.deepStrictEqual(w.lines, ["one"]);
    w.end();
    assert.deepStrictEqual(w.lines, ["one", "two"]);
    const empty = writer();
    empty.end();
    assert.deepStrictEqual(empty.lines, []);
  });
});
