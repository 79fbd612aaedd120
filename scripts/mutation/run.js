// `npm run mutation`: StrykerJS over provider/ and src/ (stryker.config.mjs), then the score per folder.
// Extra arguments go to `stryker run` (e.g. --mutate "provider/dns/**/*.ts").
const { spawnSync } = require("child_process");
const path = require("path");
const root = path.resolve(__dirname, "../..");
const env = { ...process.env };
env.NODE_OPTIONS = [env.NODE_OPTIONS, `--require ${path.join(__dirname, "mocha-cjs.cjs")}`].filter(Boolean).join(" ");
// The machine running it is usually shared: stay at low priority.
const run = spawnSync("nice", ["-n", "15", process.execPath, path.join(root, "node_modules/@stryker-mutator/core/bin/stryker.js"), "run", ...process.argv.slice(2)], {
  cwd: root, env, stdio: "inherit",
});
if (run.status !== 0) process.exit(run.status ?? 1);
require("./summary.js");
