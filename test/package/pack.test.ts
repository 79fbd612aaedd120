// The package as a Pulumi team meets it: `npm pack`, installed from the tarball into a fresh
// `pulumi new typescript`-shaped project (its stock strict tsconfig, no skipLibCheck), type-checked,
// and run under `pulumi.runtime.setMocks`. The app's SDK is pinned to the lowest version of our
// peer range, so the pack test covers the bottom of the range and the rest of the suite the top.
import * as assert from "assert";
import { execFileSync, ExecFileSyncOptions } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import * as semver from "semver";

const ROOT = path.resolve(__dirname, "../..");
const FIXTURE = path.join(__dirname, "fixture");
const ownPackage = JSON.parse(fs.readFileSync(path.join(ROOT, "package.json"), "utf8"));

/** The tsconfig.json `pulumi new typescript` writes. */
const STOCK_TSCONFIG = {
  compilerOptions: {
    strict: true,
    outDir: "bin",
    target: "es2020",
    module: "commonjs",
    moduleResolution: "node",
    sourceMap: true,
    experimentalDecorators: true,
    pretty: true,
    noFallthroughCasesInSwitch: true,
    noImplicitReturns: true,
    forceConsistentCasingInFileNames: true,
  },
  files: ["index.ts"],
};

/** Nothing a program needs at run time: the build and test tool chain of this repository. */
const DEV_ONLY = [/^typescript$/, /^ts-node$/, /grpc/, /protobuf/, /^selfsigned$/, /^mocha$/];

interface LsNode { version?: string; dependencies?: Record<string, LsNode> }

/** Every package in the installed tree below `node`, except the app's own SDK (our peer). */
function packagesBelow(node: LsNode, seen = new Set<string>()): Set<string> {
  for (const [name, child] of Object.entries(node.dependencies ?? {})) {
    if (name === "@pulumi/pulumi") continue;
    seen.add(name);
    packagesBelow(child, seen);
  }
  return seen;
}

describe("the npm package, installed into a stock Pulumi TypeScript project", function () {
  this.timeout(15 * 60_000);
  let work: string;
  let app: string;
  let tarball: string;
  const run = (file: string, args: string[], options: ExecFileSyncOptions = {}) =>
    execFileSync(file, args, { cwd: app, encoding: "utf8", stdio: ["ignore", "pipe", "pipe"], maxBuffer: 64 << 20, ...options }) as string;

  before(function () {
    // `npm test` builds first; packing with scripts would compile everything a second time.
    if (!fs.existsSync(path.join(ROOT, "dist/src/index.d.ts"))) throw new Error("dist/ is missing or has no declarations: run `npm run build` first");
    work = fs.mkdtempSync(path.join(os.tmpdir(), "launchpad-pack-"));
    const packed = JSON.parse(execFileSync("npm", ["pack", "--ignore-scripts", "--json", "--pack-destination", work], { cwd: ROOT, encoding: "utf8" }));
    tarball = path.join(work, packed[0].filename);
    app = path.join(work, "app");
    fs.mkdirSync(app);
    const sdk = semver.minVersion(ownPackage.peerDependencies["@pulumi/pulumi"])!.version;
    fs.writeFileSync(path.join(app, "package.json"), JSON.stringify({
      name: "app",
      main: "index.ts",
      devDependencies: { "@types/node": "^18", typescript: "^5.0.0" },
      dependencies: { "@pulumi/pulumi": sdk, "pulumi-launchpad": `file:${tarball}` },
    }, null, 2));
    fs.writeFileSync(path.join(app, "tsconfig.json"), JSON.stringify(STOCK_TSCONFIG, null, 2));
    fs.copyFileSync(path.join(FIXTURE, "index.ts"), path.join(app, "index.ts"));
    fs.copyFileSync(path.join(FIXTURE, "mocks.js"), path.join(app, "mocks.js"));
    // The shared npm cache makes this an offline install after the first run.
    run("npm", ["install", "--prefer-offline", "--no-audit", "--no-fund", "--ignore-scripts", "--loglevel=error"]);
  });

  after(() => {
    if (work) fs.rmSync(work, { recursive: true, force: true });
  });

  it("ships compiled JavaScript and declarations only: no TypeScript sources, no sandbox", () => {
    const files = execFileSync("tar", ["tzf", tarball], { encoding: "utf8" }).trim().split("\n").map((f) => f.replace(/^package\//, ""));
    assert.ok(files.includes("dist/src/index.d.ts") && files.includes("dist/src/index.js"), "dist/src/index.{js,d.ts}");
    assert.ok(files.includes("dist/provider/container/index.js") && files.includes("dist/provider/container/index.d.ts"));
    assert.deepStrictEqual(files.filter((f) => /\.ts$/.test(f) && !/\.d\.ts$/.test(f)), []);
    assert.deepStrictEqual(files.filter((f) => /(^|\/)(sandbox|test)\//.test(f)), []);
    const installed = JSON.parse(fs.readFileSync(path.join(app, "node_modules/pulumi-launchpad/package.json"), "utf8"));
    assert.strictEqual(installed.types, "dist/src/index.d.ts");
    assert.strictEqual(installed.exports["."].types, "./dist/src/index.d.ts");
  });

  it("type-checks a program using every public resource with the stock tsconfig (strict, no skipLibCheck)", () => {
    try {
      run(path.join(app, "node_modules/.bin/tsc"), ["-p", "."]);
    } catch (error) {
      const e = error as { stdout?: string; stderr?: string };
      assert.fail(`tsc failed:\n${e.stdout}${e.stderr}`);
    }
    assert.ok(fs.existsSync(path.join(app, "bin/index.js")));
  });

  it("runs under setMocks, and every serialized provider requires only the package by name", () => {
    if (!fs.existsSync(path.join(app, "bin/index.js"))) run(path.join(app, "node_modules/.bin/tsc"), ["-p", "."]);
    const result = JSON.parse(run("node", ["mocks.js"]).trim().split("\n").pop()!);
    const types = new Set<string>(result.registered.map((r: { type: string }) => r.type));
    for (const type of ["Container", "ProxyRoute", "DnsRecord", "DeployKey", "ContainerDeployment", "Permission"]) {
      assert.ok([...types].some((t) => t === `pulumi-nodejs:dynamic/launchpad:${type}`), `${type} registered (got ${[...types].join(", ")})`);
    }
    assert.ok(types.has("launchpad:index:PreviewEnvironment"));
    assert.deepStrictEqual(result.outputs.names, { preview: "acme-shop-feature-login", stack: "feature-login", light: "feature-login" });

    const texts: string[] = result.registered.filter((r: { provider?: string }) => r.provider).map((r: { provider: string }) => r.provider);
    assert.ok(texts.length >= 6, `serialized providers: ${texts.length}`);
    for (const text of texts) {
      // Every require names the package: `require("pulumi-launchpad/provider/" + resourceModule)`, the module a plain name.
      const requires = [...text.matchAll(/require\(([^)]*)\)/g)].map((m) => m[1].trim());
      assert.ok(requires.length > 0, `a require in:\n${text}`);
      for (const required of requires) assert.match(required, /^"pulumi-launchpad\/provider\/"( \+ resourceModule)?$/, `require(${required}) in:\n${text}`);
      assert.match(text, /resourceModule: "(container|proxy|dns|deploy|acl)"/);
      for (const needle of [work, ROOT, os.tmpdir() + "/", "/node_modules/", "PRIVATE KEY"]) {
        assert.ok(!text.includes(needle), `'${needle}' in the serialized provider:\n${text}`);
      }
    }
  });

  it("installs the `pulumi-launchpad` command: `npx pulumi-launchpad sweep --help`", () => {
    const help = run("npx", ["--no-install", "pulumi-launchpad", "sweep", "--help"]);
    assert.match(help, /usage: pulumi-launchpad sweep \[--dry-run \| --apply\]/);
  });

  it("installs no build or test tool chain with the package (npm ls --omit=dev)", () => {
    let listing: string;
    try {
      listing = run("npm", ["ls", "--omit=dev", "--all", "--json"]);
    } catch (error) {
      listing = (error as { stdout: string }).stdout; // npm ls exits 1 on peer warnings; the tree is still printed
    }
    const tree = JSON.parse(listing) as LsNode;
    const ours = tree.dependencies?.["pulumi-launchpad"];
    assert.ok(ours, "pulumi-launchpad is installed");
    const below = [...packagesBelow(ours!)];
    assert.ok(below.includes("zod") && below.includes("proxmox-api"), `runtime dependencies present: ${below.join(", ")}`);
    assert.deepStrictEqual(below.filter((name) => DEV_ONLY.some((re) => re.test(name))), []);
    const declared = Object.keys(JSON.parse(fs.readFileSync(path.join(app, "node_modules/pulumi-launchpad/package.json"), "utf8")).dependencies);
    assert.deepStrictEqual(declared.filter((name) => DEV_ONLY.some((re) => re.test(name)) || name.startsWith("@types/")), []);
  });
});
