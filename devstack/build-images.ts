// `npx ts-node --transpile-only devstack/build-images.ts`: builds (or finds cached) the app and system
// images and the standard template, and prints one JSON line with where they are and the seconds each took.
// `npm test` runs it first, so the first LXC test does not spend its own timeout on a cold build.
import { execFileSync } from "child_process";
import { appImage, standardTemplate, systemImage } from "./images";

/** Why the images cannot be built here, or undefined (root and mmdebstrap, umoci, zstd present). */
function unavailable(): string | undefined {
  if (process.getuid?.() !== 0) return "not root (mmdebstrap builds the rootfs as root)";
  for (const tool of ["mmdebstrap", "umoci", "zstd"]) {
    try {
      execFileSync("sh", ["-c", `command -v ${tool}`], { stdio: "ignore" });
    } catch {
      return `${tool} is not installed (scripts/install-system-deps.sh)`;
    }
  }
  return undefined;
}

async function main(): Promise<void> {
  const why = unavailable();
  if (why) {
    // The LXC tests skip outside CI for the same reason; under CI=true a missing tool is a failure.
    if (process.env.CI === "true") throw new Error(`cannot build the images: ${why}`);
    process.stderr.write(`images: not built: ${why}\n`);
    return;
  }
  const seconds: Record<string, number> = {};
  const timed = async <T>(name: string, build: () => Promise<T>): Promise<T> => {
    const started = performance.now();
    const result = await build();
    seconds[name] = Math.round((performance.now() - started) / 10) / 100;
    return result;
  };
  const app = await timed("app", appImage);
  const system = await timed("system", systemImage);
  const template = await timed("template", standardTemplate);
  process.stdout.write(JSON.stringify({ app: app.layout, system: system.layout, template, seconds }) + "\n");
}

main().catch((error) => {
  process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
});
