// Makes `require("pulumi-launchpad/...")` resolve inside this checkout, as it does in a
// user's project: the dynamic-provider host resolves the serialized provider's requires from
// its working directory's node_modules, and this package is not installed into itself.
const fs = require("fs");
const path = require("path");
const root = path.resolve(__dirname, "..");
if (path.basename(path.dirname(root)) === "node_modules") process.exit(0); // installed as a dependency
const link = path.join(root, "node_modules", "pulumi-launchpad");
try {
  if (fs.realpathSync(link) === root) process.exit(0);
  fs.rmSync(link, { recursive: true, force: true });
} catch { /* absent */ }
fs.mkdirSync(path.dirname(link), { recursive: true });
fs.symlinkSync("..", link, "dir");
