import * as assert from "assert";
import { execFileSync } from "child_process";
import { sha256Fingerprint, shellCommand, shellQuote } from "../../../provider/ssh";

describe("ssh helpers", () => {
  it("quotes words so that sh reads them back unchanged", () => {
    const words = ["", "plain", "two words", "it's", "'", "''", "$(id)", "`id`", "a\nb", "semi;colon", "back\\slash", "*", "-n", "\"dq\"", "ünï"];
    const echoed = execFileSync("sh", ["-c", `for w in ${shellCommand(words)}; do printf '%s\\0' "$w"; done`], { encoding: "utf8" });
    assert.deepStrictEqual(echoed.split("\0").slice(0, -1), words);
    assert.strictEqual(shellQuote(""), "''");
  });

  it("formats host key fingerprints as ssh-keygen -lf does", () => {
    // sha256 of the empty buffer, base64 without padding
    assert.strictEqual(sha256Fingerprint(Buffer.alloc(0)), "SHA256:47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU");
  });
});
