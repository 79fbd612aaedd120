import * as assert from "assert";
import { isLaunchpadError } from "../../../provider/errors";
import { encodeUpdate, prerequisite, update } from "../../../provider/dns/render";
import { appendTsig, findTsig, requestMac, responseMac, sign, TsigKeyMaterial, TsigVariables, unsignedPart, verifyResponse } from "../../../provider/dns/tsig";

// Captured from BIND 9's nsupdate (`-y hmac-sha256:launchpad-test:<secret>`; prereq nxrrset
// app.example.test A; update add app.example.test 300 A 192.0.2.7): an independent implementation,
// with name compression, signing at time 0x6b0255e2.
const NSUPDATE_REQUEST = Buffer.from(
  "04cd28000001000100010001076578616d706c650474657374000006000103617070c00c000100fe000000000000c01e000100010000012c0004c0000207" +
  "0e6c61756e63687061642d746573740000fa00ff00000000003d0b686d61632d7368613235360000006b0255e2012c0020e6120d1a8278392b24f4dbc4f2" +
  "7090bb8afaf828541ad6f850d115f5104bc87c04cd00000000", "hex");
const NSUPDATE_KEY: TsigKeyMaterial = { name: "launchpad-test", algorithm: "hmac-sha256", secret: Buffer.from("0123456789abcdef0123456789abcdef") };

const key256: TsigKeyMaterial = { name: "Launchpad.Key", algorithm: "hmac-sha256", secret: Buffer.alloc(32, 1) };
const key512: TsigKeyMaterial = { name: "launchpad.key", algorithm: "hmac-sha512", secret: Buffer.alloc(64, 2) };
const set = { zone: "example.test", fqdn: "app.example.test", type: "A" as const, ttl: 300, values: ["192.0.2.7"] };
const request = () => encodeUpdate({ zone: set.zone, prerequisites: [prerequisite.rrsetAbsent(set.fqdn, "A")], updates: update.add(set) }, 0x1234);

/** What a server does: answer with QR set and the rcode, signed over the request's MAC. */
function serverAnswer(req: Buffer, reqMac: Buffer, key: TsigKeyMaterial, time: number, opts: { rcode?: number; error?: number; mac?: Buffer } = {}): Buffer {
  const header = Buffer.from(req.subarray(0, 12));
  header.writeUInt16BE((req.readUInt16BE(2) | 0x8000 | (opts.rcode ?? 0)) & 0xffff, 2);
  header.writeUInt16BE(0, 6); header.writeUInt16BE(0, 8); header.writeUInt16BE(0, 10);
  const zoneEnd = 12 + req.subarray(12).indexOf(0) + 1 + 4;
  const message = Buffer.concat([header, req.subarray(12, zoneEnd)]);
  const v: TsigVariables = { algorithm: `${key.algorithm}.`, timeSigned: time, fudge: 300, error: opts.error ?? 0, otherData: Buffer.alloc(0) };
  const mac = opts.mac ?? responseMac(message, reqMac, key, v);
  return appendTsig(message, key.name, v, mac);
}

function throwsDns(run: () => void, pattern: RegExp): void {
  assert.throws(run, (error: unknown) => {
    assert.ok(isLaunchpadError(error, "ERR_DNS_UPDATE"), String(error));
    assert.match((error as Error).message, pattern);
    return true;
  });
}

describe("TSIG (RFC 8945)", () => {
  it("computes the same request MAC as BIND's nsupdate", () => {
    const tsig = findTsig(NSUPDATE_REQUEST)!;
    assert.strictEqual(tsig.keyName, "launchpad-test");
    assert.strictEqual(tsig.algorithm, "hmac-sha256");
    assert.strictEqual(tsig.fudge, 300);
    const ours = requestMac(unsignedPart(NSUPDATE_REQUEST, tsig), NSUPDATE_KEY, tsig);
    assert.strictEqual(ours.toString("hex"), tsig.mac.toString("hex"));
    const wrongKey = requestMac(unsignedPart(NSUPDATE_REQUEST, tsig), { ...NSUPDATE_KEY, secret: Buffer.from("x") }, tsig);
    assert.notStrictEqual(wrongKey.toString("hex"), tsig.mac.toString("hex"));
  });

  it("signs in the layout nsupdate uses: TSIG last, ARCOUNT bumped, original id kept, names canonical", () => {
    const tsig0 = findTsig(NSUPDATE_REQUEST)!;
    const unsigned = unsignedPart(NSUPDATE_REQUEST, tsig0);
    const { signed, mac } = sign(unsigned, NSUPDATE_KEY, tsig0.timeSigned);
    assert.strictEqual(signed.toString("hex"), NSUPDATE_REQUEST.toString("hex"), "byte for byte what nsupdate sent");
    assert.strictEqual(mac.toString("hex"), tsig0.mac.toString("hex"));

    const ours = sign(request(), key256, 1_700_000_000);
    const tsig = findTsig(ours.signed)!;
    assert.strictEqual(ours.signed.readUInt16BE(10), 1);
    assert.strictEqual(tsig.keyName, "launchpad.key", "key name in canonical (lower case) form");
    assert.strictEqual(tsig.originalId, 0x1234);
    assert.strictEqual(tsig.timeSigned, 1_700_000_000);
    assert.strictEqual(tsig.mac.length, 32);
    assert.strictEqual(findTsig(sign(request(), key512, 1).signed)!.mac.length, 64);
  });

  for (const key of [key256, key512]) {
    it(`accepts a correctly signed answer and rejects a tampered or stale one (${key.algorithm})`, () => {
      const now = 1_700_000_000;
      const { signed, mac } = sign(request(), key, now);
      verifyResponse(serverAnswer(signed, mac, key, now + 2), mac, key, now + 3, "ns");
      const tampered = serverAnswer(signed, mac, key, now);
      tampered[3] ^= 0x05; // flip the rcode after signing
      throwsDns(() => verifyResponse(tampered, mac, key, now, "ns"), /signature of ns's answer does not verify/);
      throwsDns(() => verifyResponse(serverAnswer(signed, Buffer.alloc(mac.length), key, now), mac, key, now, "ns"), /does not verify/);
      throwsDns(() => verifyResponse(serverAnswer(signed, mac, key, now - 1000), mac, key, now, "ns"), /more than 300 s from this machine's clock/);
    });
  }

  it("maps BADSIG, BADKEY and BADTIME to messages that say what to fix", () => {
    const now = 1_700_000_000;
    const { signed, mac } = sign(request(), key256, now);
    const unsignedError = (error: number) => serverAnswer(signed, mac, key256, now, { rcode: 9, error, mac: Buffer.alloc(0) });
    throwsDns(() => verifyResponse(unsignedError(16), mac, key256, now, "ns"), /rejected the TSIG key "Launchpad.Key" \(BADSIG: .*secret or algorithm differs/);
    throwsDns(() => verifyResponse(unsignedError(17), mac, key256, now, "ns"), /BADKEY: the server does not know this TSIG key/);
    throwsDns(() => verifyResponse(unsignedError(18), mac, key256, now, "ns"), /BADTIME: the clocks/);
    throwsDns(() => verifyResponse(unsignedError(99), mac, key256, now, "ns"), /TSIG error 99/);
  });

  it("refuses an unsigned answer and one signed with another key", () => {
    const now = 1_700_000_000;
    const { signed, mac } = sign(request(), key256, now);
    const answer = serverAnswer(signed, mac, key256, now);
    const unsigned = unsignedPart(answer, findTsig(answer)!);
    throwsDns(() => verifyResponse(unsigned, mac, key256, now, "ns"), /without a TSIG signature/);
    throwsDns(() => verifyResponse(serverAnswer(signed, mac, key512, now), mac, key256, now, "ns"), /signed its answer with key "launchpad.key" \(hmac-sha512\.?\)/);
  });

  it("reads what it signs back exactly: 48-bit times, other data, error, original id", () => {
    const time = 2 ** 32 + 7; // after 2106: the high 16 bits of the 48-bit time count
    const v: TsigVariables = { algorithm: "hmac-sha256.", timeSigned: time, fudge: 300, error: 18, otherData: Buffer.from([0, 0, 0, 0, 1, 2]) };
    const mac = Buffer.alloc(32, 9);
    mac.writeUInt32BE(0, 28); // read at a wrong offset, these zeros would show as the other-data length
    const tsig = findTsig(appendTsig(request(), key256.name, v, mac))!;
    assert.deepStrictEqual([tsig.timeSigned, tsig.error, tsig.originalId, tsig.otherData.toString("hex"), tsig.mac.toString("hex")],
      [time, 18, 0x1234, "000000000102", "09".repeat(28) + "00000000"]);
  });

  it("finds no TSIG in a message too short for a header, or whose last record is another type (EDNS OPT)", () => {
    assert.strictEqual(findTsig(Buffer.alloc(5)), undefined);
    const withOpt = Buffer.from(request());
    const opt = Buffer.from([0, 0, 41, 0x10, 0, 0, 0, 0, 0, 0, 0]); // root name, OPT, 4096, no options
    const message = Buffer.concat([withOpt, opt]);
    message.writeUInt16BE(1, 10);
    assert.strictEqual(findTsig(message), undefined);
  });

  it("fails cleanly on an answer cut short in the middle of a name", () => {
    const { signed } = sign(request(), key256, 1_700_000_000);
    assert.throws(() => findTsig(signed.subarray(0, 17)), /name runs past the end of the message/); // cut inside the zone name
  });

  it("refuses an answer with a MAC of the wrong length, or signed under another key name, and takes one just within the fudge", () => {
    const now = 1_700_000_000;
    const { signed, mac } = sign(request(), key256, now);
    throwsDns(() => verifyResponse(serverAnswer(signed, mac, key256, now, { mac: Buffer.alloc(16) }), mac, key256, now, "ns"), /does not verify/);
    throwsDns(() => verifyResponse(serverAnswer(signed, mac, { ...key256, name: "other.key" }, now), mac, key256, now, "ns"),
      /signed its answer with key "other.key" \(hmac-sha256\.?\), not with "Launchpad.Key"/);
    verifyResponse(serverAnswer(signed, mac, key256, now - 300), mac, key256, now, "ns");
    throwsDns(() => verifyResponse(serverAnswer(signed, mac, key256, now - 301), mac, key256, now, "ns"), /more than 300 s/);
  });
});
