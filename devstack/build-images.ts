// `npx ts-node --transpile-only devstack/build-images.ts`: builds (or finds cached) the app and system
// images and the standard template, and prints one JSON line with where they are and the seconds each took.
import { appImage, standardTemplate, systemImage } from "./images";

async function main(): Promise<void> {
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
