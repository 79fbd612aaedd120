// The script one deploy command runs as: pure text, sent to `sh -s` over the channel's stdin.

import { shellQuote } from "../ssh";

/**
 * `export` lines for `env` (quoted), then the command in its own `sh -c` with stdin from
 * /dev/null, so a command that reads stdin cannot swallow the rest of the script.
 */
export function renderScript(command: string, env: Record<string, string>): string {
  const exports = Object.keys(env)
    .sort()
    .map((name) => `export ${name}=${shellQuote(env[name])}`);
  return [...exports, `exec sh -c ${shellQuote(command)} </dev/null`, ""].join("\n");
}
