// Basic auth without a password in clear anywhere: the proxy host hashes each password read from
// stdin (`openssl passwd -6`, SHA-512-crypt, which nginx checks through crypt(3)), and state keeps
// an scrypt verifier so that a changed password is seen without keeping the password itself.

import { randomBytes, scryptSync, timingSafeEqual } from "crypto";
import { registerSecret, SshExecError } from "../errors";
import type { SshSession } from "../ssh";
import type { RouteAccess } from "./schema";

type User = NonNullable<RouteAccess["basicAuth"]>["users"][number];

const SCRYPT_BYTES = 32;

export function passwordVerifier(password: string, salt: string = randomBytes(16).toString("base64url")): string {
  return `scrypt$${salt}$${scryptSync(password, salt, SCRYPT_BYTES).toString("base64url")}`;
}

export function verifies(verifier: string | undefined, password: string): boolean {
  const [scheme, salt, hash] = (verifier ?? "").split("$");
  if (scheme !== "scrypt" || !salt || !hash) return false;
  const expected = Buffer.from(hash, "base64url");
  const actual = scryptSync(password, salt, SCRYPT_BYTES);
  return expected.length === actual.length && timingSafeEqual(expected, actual);
}

/**
 * The access settings as state keeps them: each password replaced by a verifier, the previous
 * one kept when the password did not change (so that an unchanged route shows no diff).
 * A password that is not a string (unknown during preview) stays as it is.
 */
export function sealAccess<T extends Record<string, unknown> | undefined>(access: T, previous: RouteAccess | undefined): T {
  const basic = (access as { basicAuth?: { users?: unknown } } | undefined)?.basicAuth;
  if (!access || !basic || !Array.isArray(basic.users)) return access;
  const before = new Map((previous?.basicAuth?.users ?? []).map((user) => [user.name, user.passwordVerifier]));
  const users = (basic.users as Record<string, unknown>[]).map((user) => {
    if (typeof user?.password !== "string") return user;
    const { password, ...rest } = user;
    const old = before.get(String(user.name));
    return { ...rest, passwordVerifier: verifies(old, password) ? old : passwordVerifier(password) };
  });
  return { ...access, basicAuth: { ...basic, users } };
}

/** The htpasswd file's text: `name:hash` lines, hashed on the proxy host from stdin (never on a command line). */
export async function renderHtpasswd(session: SshSession, users: readonly User[]): Promise<string> {
  const passwords = users.map((user) => {
    if (typeof user.password !== "string") throw new Error(`basic auth user ${user.name} has no password`);
    registerSecret(user.password);
    return user.password;
  });
  const { stdout } = await session.exec("openssl passwd -6 -stdin", { stdin: passwords.join("\n") + "\n" });
  const hashes = stdout.split("\n").map((line) => line.trim()).filter(Boolean);
  if (hashes.length !== users.length || hashes.some((hash) => !hash.startsWith("$6$"))) {
    throw new SshExecError({ command: "openssl passwd -6 -stdin", exitCode: 0, stdout: "", stderr: `expected ${users.length} SHA-512-crypt hashes, got ${hashes.length}` });
  }
  return users.map((user, index) => `${user.name}:${hashes[index]}`).join("\n") + "\n";
}
