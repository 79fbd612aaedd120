// `npm run demo`: one branch's preview, end to end, on this machine. Starts the sandbox (real LXC
// containers when run as root with LXC), an nginx proxy host reached over SSH and PowerDNS; runs the
// root program (index.ts) from stack config with `pulumi up` or the e2e test engine; fetches the URL
// through nginx and runs a command over SSH through the allocated port; destroys and counts what is
// left. With `--tls acme` the preview's certificate comes from a Pebble started here, and the demo
// checks that nginx serves it chaining to Pebble's root. Progress goes to stderr; the last line of
// stdout is one JSON object.
import { parseArgs } from "node:util";
import { ProgramRunner, chooseRunner } from "../devstack/engines";
import { Leftovers, PreviewStack, PreviewTls, ServedCertificate, fakeRevision, startPreviewStack } from "../devstack/preview-stack";

interface DemoResult {
  url: string | null;
  httpStatus: number | null;
  ssh: string;
  engine: "pulumi" | "test-engine" | null;
  backend: "lxc" | "memory" | null;
  tls: PreviewTls;
  /** With `--tls acme`: who issued the certificate nginx served, verified against Pebble's root only. */
  certIssuer?: string | null;
  leftover: Leftovers | null;
  seconds: Record<string, number>;
  /** Why the run is not a success, in words, when it is not. */
  why?: string[];
}

const BRANCH = "demo/hello-world";

const log = (line: string) => process.stderr.write(`${line}\n`);

const USAGE = "use [--backend lxc|memory] [--tls files|acme] [--keep]";

/**
 * `--backend memory` forces the in-memory sandbox; `--tls acme` issues the preview's certificate from a
 * Pebble the demo starts (default: the proxy host's certificate files); `--keep` waits for Enter
 * before destroying, to try the URL and SSH by hand.
 */
function demoOptions(argv: string[]): { backend: "lxc" | "memory"; tls: PreviewTls; keep: boolean } {
  let values;
  try {
    ({ values } = parseArgs({
      args: argv,
      options: { backend: { type: "string", default: "lxc" }, tls: { type: "string", default: "files" }, keep: { type: "boolean", default: false } },
    }));
  } catch (error) {
    throw new Error(`${(error as Error).message}: ${USAGE}`);
  }
  const { backend, tls, keep } = values;
  if (backend !== "lxc" && backend !== "memory") throw new Error(`--backend ${backend}: ${USAGE}`);
  if (tls !== "files" && tls !== "acme") throw new Error(`--tls ${tls}: ${USAGE}`);
  return { backend, tls, keep };
}

function waitForEnter(prompt: string): Promise<void> {
  log(prompt);
  return new Promise((resolve) => process.stdin.once("data", () => { process.stdin.pause(); resolve(); }));
}
const since = (start: number) => Math.round((performance.now() - start) / 10) / 100;
const firstLine = (error: unknown) => (error instanceof Error ? error.message : String(error)).split("\n")[0];

async function main(): Promise<number> {
  const options = demoOptions(process.argv.slice(2));
  const started = performance.now();
  const seconds: Record<string, number> = {};
  const result: DemoResult = {
    url: null, httpStatus: null, ssh: "not run", engine: null, backend: null, tls: options.tls,
    ...(options.tls === "acme" ? { certIssuer: null } : {}), leftover: null, seconds, why: [],
  };
  let stack: PreviewStack | undefined;
  let runner: ProgramRunner | undefined;
  let deployed = false;

  // Ctrl-C or a kill: take down what was started (the sandbox's close destroys its LXC containers), then go.
  let interrupted = false;
  const onSignal = (signal: NodeJS.Signals) => {
    if (interrupted) process.exit(130);
    interrupted = true;
    log(`\n${signal}: stopping everything this demo started (again to quit at once)`);
    void (async () => {
      await runner?.close().catch(() => undefined);
      await stack?.close().catch((error) => log(`cleanup: ${firstLine(error)}`));
      seconds.total = since(started);
      result.why!.push(`interrupted by ${signal}${deployed ? ": the sandbox's containers were removed with it, the stack's state was not destroyed" : ""}`);
      process.stdout.write(JSON.stringify(result) + "\n");
      process.exit(signal === "SIGINT" ? 130 : 143);
    })();
  };
  process.on("SIGINT", onSignal);
  process.on("SIGTERM", onSignal);
  // Pulumi's runtime leaves a failed registration's promise unhandled; the engine reports the failure itself.
  process.on("unhandledRejection", (error) => log(`   (program: ${firstLine(error)})`));

  try {
    log(`== starting the sandbox, the proxy host and PowerDNS${options.tls === "acme" ? ", and Pebble (ACME)" : ""}`);
    stack = await startPreviewStack({ backend: options.backend, tls: options.tls, log });
    result.backend = stack.backend;
    seconds.setup = since(started);
    // The system image (its own /sbin/init, sshd and node) from the local registry: the deploy step and
    // the SSH port need an SSH server in the container, which an app image does not run.
    const settings = { branch: BRANCH, revision: fakeRevision(), image: stack.images.system };
    runner = chooseRunner(stack, settings.branch, log);
    result.engine = runner.engine;

    log(`== pulumi up --stack ${runner.stack} (root program index.ts, branch ${settings.branch}, revision ${settings.revision.slice(0, 12)})`);
    let clock = performance.now();
    const outputs = await runner.up(stack.stackConfig(settings));
    deployed = true;
    seconds.up = since(clock);
    result.url = typeof outputs.url === "string" ? outputs.url : null;
    const sshPort = (outputs.ports as Record<string, number> | undefined)?.ssh;
    const hostname = String(outputs.hostname ?? "");
    process.stdout.write(`URL: ${result.url}\n`);
    // OpenSSH reads what follows the destination as the remote command: the key goes first.
    process.stdout.write(`SSH: ${String(outputs.sshCommand).replace(/^ssh /, `ssh -i ${stack.userKey.file} `)}\n`);
    log(`   (the key file lives as long as the demo: run it with --keep to try the URL and SSH by hand)`);
    log(`   (${result.url} resolves in the preview's DNS only: PowerDNS on 127.0.0.1:${stack.pdns.dnsPort} answers for it; `
      + `the demo connects to the proxy's loopback port with the name in SNI and Host)`);

    if (stack.pebble) {
      // The certificate is nginx's, not the app's: checked on either backend, trusting Pebble's root only.
      const fqdn = result.url ? new URL(result.url).hostname : "";
      log(`== TLS handshake for ${fqdn} with the proxy, trusting only Pebble's root (from its management API)`);
      clock = performance.now();
      try {
        const served: ServedCertificate = await stack.servedCertificate(fqdn);
        result.certIssuer = served.issuerName;
        log(`   ${served.subject}, serial ${served.serialNumber}, issued by ${served.issuer}: verified`);
        if (!/^Pebble /.test(served.issuerName)) result.why!.push(`the served certificate was issued by "${served.issuerName}", not Pebble`);
      } catch (error) {
        result.why!.push(`the served certificate does not verify against Pebble's root: ${firstLine(error)}`);
        log(`   failed: ${firstLine(error)}`);
      }
      seconds.tls = since(clock);
    }

    if (stack.backend === "memory") {
      const why = "memory backend: the container is a record in the sandbox, no process runs in it (real containers need root and LXC), "
        + "so the deploy step is left out and neither the URL nor SSH can reach an app";
      log(`== ${why}`);
      result.why!.push(why);
      result.ssh = "not run: no real container (memory backend)";
    } else {
      log(`== GET ${result.url} through nginx (trusting ${stack.pebble ? "Pebble's root" : "the proxy's self-signed certificate"} only)`);
      clock = performance.now();
      try {
        const answer = await stack.fetch(result.url!);
        result.httpStatus = answer.status;
        log(`   HTTP ${answer.status}: ${answer.body.trim()}`);
        if (answer.status !== 200) result.why!.push(`the URL answered HTTP ${answer.status}`);
      } catch (error) {
        result.why!.push(`GET ${result.url}: ${firstLine(error)}`);
        log(`   failed: ${firstLine(error)}`);
      }
      seconds.http = since(clock);

      log(`== ssh -p ${sshPort} root@127.0.0.1 hostname (host key pinned to what the deploy step trusted)`);
      clock = performance.now();
      try {
        if (sshPort === undefined) throw new Error("the stack has no ssh port output");
        const answer = await stack.ssh(sshPort, "hostname", await runner.deployHostKey());
        const seen = answer.stdout.trim();
        log(`   ${seen} (exit ${answer.code})`);
        result.ssh = answer.code === 0 && seen === hostname ? "ok" : `hostname answered "${seen}" (exit ${answer.code}), expected "${hostname}"`;
      } catch (error) {
        result.ssh = firstLine(error);
      }
      seconds.ssh = since(clock);
      if (result.ssh !== "ok") result.why!.push(`ssh: ${result.ssh}`);
    }

    if (options.keep && process.stdin.isTTY) await waitForEnter(`== kept up: try ${result.url} and the SSH command above; press Enter to destroy`);
    log(`== pulumi destroy --stack ${runner.stack}`);
    clock = performance.now();
    await runner.destroy();
    deployed = false;
    seconds.destroy = since(clock);
    result.leftover = await stack.leftovers();
    log(`   left: ${result.leftover.containers} container(s) in the sandbox${stack.lxc ? ` and lxc-ls -P ${stack.lxc.lxcPath}` : ""}, `
      + `${result.leftover.routes} route file(s) in ${stack.nginx.confDir}, ${result.leftover.records} record(s) in PowerDNS zone, `
      + `${result.leftover.challenges} ACME challenge file(s), ${result.leftover.certificates} certificate file(s)`);
    const left = Object.entries(result.leftover).filter(([, n]) => n > 0);
    if (left.length) result.why!.push(`left after destroy: ${left.map(([what, n]) => `${n} ${what}`).join(", ")}`);
  } catch (error) {
    log(`demo failed: ${error instanceof Error ? error.stack ?? error.message : String(error)}`);
    result.why!.push(firstLine(error));
    if (deployed && runner) {
      log("== destroying what was deployed");
      await runner.destroy().catch((destroyError) => log(`destroy failed: ${firstLine(destroyError)}`));
    }
  } finally {
    await runner?.close().catch(() => undefined);
    await stack?.close().catch((error) => log(`cleanup: ${firstLine(error)}`));
  }
  seconds.total = since(started);

  const ok = result.httpStatus === 200 && result.ssh === "ok" && result.leftover !== null
    && Object.values(result.leftover).every((n) => n === 0)
    && (options.tls !== "acme" || /^Pebble /.test(result.certIssuer ?? ""));
  if (ok) delete result.why;
  log(ok ? "== demo OK" : `== demo NOT OK: ${result.why!.join("; ")}`);
  process.stdout.write(JSON.stringify(result) + "\n");
  return ok ? 0 : 1;
}

main().then(
  (code) => process.exit(code),
  (error) => {
    log(`demo crashed: ${error instanceof Error ? error.stack : String(error)}`);
    process.exit(1);
  },
);
