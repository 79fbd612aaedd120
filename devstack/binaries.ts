import { execFileSync } from "child_process";
import * as fs from "fs";

/** The absolute path of a program, or undefined. Looks in sbin too: sshd, nginx and pdns_server live there. */
export function findBinary(name: string): string | undefined {
  const dirs = (process.env.PATH ?? "").split(":").concat(["/usr/sbin", "/sbin", "/usr/local/sbin"]);
  for (const dir of dirs) {
    const candidate = `${dir}/${name}`;
    try { fs.accessSync(candidate, fs.constants.X_OK); return candidate; } catch { /* next */ }
  }
  try { return execFileSync("which", [name], { encoding: "utf8" }).trim() || undefined; } catch { return undefined; }
}

/**
 * For a `before` hook: the binary's path, or a skip naming the Debian package to install.
 * Under CI=true a missing server is a failure, never a skip: `.ci/run` installs them all.
 */
export function requireBinary(context: Mocha.Context, name: string, debianPackage: string): string {
  const found = findBinary(name);
  if (found) return found;
  const message = `${name} not found: install the Debian package ${debianPackage} (scripts/install-system-deps.sh)`;
  if (process.env.CI === "true") throw new Error(message);
  console.warn(`      skipped: ${message}`);
  context.skip();
  throw new Error("unreachable");
}
