// A real nginx for tests: own prefix and nginx.conf in a temp dir, loopback ports, http and
// stream include directories like a proxy host's, stopped (and its dir removed) by stop().

import { execFile, spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { promisify } from "util";
import { requireBinary } from "./binaries";
import { freePort, startServer } from "./ports";

const run = promisify(execFile);

export interface TestNginx {
  readonly dir: string;
  /** Route directory, as ProxyRoute's `proxy.confDir`. */
  readonly confDir: string;
  readonly httpsPort: number;
  readonly httpPort: number;
  /** For `proxy.testCommand` / `proxy.reloadCommand`: this instance, not the system's. */
  readonly testCommand: string;
  readonly reloadCommand: string;
  /** For `proxy.pidFile`: this instance's master. */
  readonly pidFile: string;
  /** A self-signed certificate and key (SAN `*.preview.test`) for TLS routes. */
  readonly certificate: string;
  readonly key: string;
  /** `nginx -t` on this instance's configuration, as it is now. */
  test(): Promise<{ ok: boolean; output: string }>;
  stop(): Promise<void>;
}

/** The `load_module` line nginx needs for `stream {}`, or a skip/failure when the module is missing. */
function streamModuleLine(context: Mocha.Context, nginx: string): string {
  const flags = spawnSync(nginx, ["-V"], { encoding: "utf8" }).stderr ?? ""; // nginx -V prints to stderr
  if (/--with-stream(\s|$)/.test(flags)) return "";
  const modulesPath = flags.match(/--modules-path=(\S+)/)?.[1] ?? "/usr/lib/nginx/modules";
  const module = path.join(modulesPath, "ngx_stream_module.so");
  if (fs.existsSync(module)) return `load_module ${module};`;
  const message = "nginx has no stream module: install the Debian package libnginx-mod-stream (scripts/install-system-deps.sh)";
  if (process.env.CI === "true") throw new Error(message);
  console.warn(`      skipped: ${message}`);
  context.skip();
  throw new Error("unreachable");
}

export async function startNginx(context: Mocha.Context): Promise<TestNginx> {
  const nginx = requireBinary(context, "nginx", "nginx-light");
  const openssl = requireBinary(context, "openssl", "openssl");
  const loadStream = streamModuleLine(context, nginx);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "launchpad-nginx-"));
  const confDir = path.join(dir, "routes");
  for (const sub of ["routes/http", "routes/stream", "temp"]) fs.mkdirSync(path.join(dir, sub), { recursive: true });
  const certificate = path.join(dir, "preview.crt");
  const key = path.join(dir, "preview.key");
  await run(openssl, ["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", key, "-out", certificate, "-days", "2",
    "-subj", "/CN=preview.test", "-addext", "subjectAltName=DNS:*.preview.test,DNS:preview.test"]);
  const [httpsPort, httpPort] = [await freePort(), await freePort()];
  const conf = path.join(dir, "nginx.conf");
  const errorLog = path.join(dir, "error.log");
  const asRoot = process.getuid?.() === 0;
  const temp = (name: string) => `${name} ${path.join(dir, "temp", name.replace(/_temp_path$/, ""))};`;
  fs.writeFileSync(conf, [
    loadStream,
    "daemon off;",
    "master_process on;",
    "worker_processes 1;",
    asRoot ? "user root;" : "",
    `pid ${path.join(dir, "nginx.pid")};`,
    `error_log ${errorLog} warn;`,
    "events { worker_connections 1024; }",
    "http {",
    "    access_log off;",
    `    ${temp("client_body_temp_path")} ${temp("proxy_temp_path")} ${temp("fastcgi_temp_path")} ${temp("uwsgi_temp_path")} ${temp("scgi_temp_path")}`,
    "    # the proxy host's catch-all: unknown names get 404",
    `    server { listen 127.0.0.1:${httpPort} default_server; return 404; }`,
    `    server { listen 127.0.0.1:${httpsPort} ssl default_server; ssl_certificate ${certificate}; ssl_certificate_key ${key}; return 404; }`,
    `    include ${confDir}/http/*.conf;`,
    "}",
    "stream {",
    `    include ${confDir}/stream/*.conf;`,
    "}",
    "",
  ].join("\n"));
  const base = `${nginx} -p ${dir}/ -c ${conf} -e ${errorLog}`;
  const { stop } = await startServer(nginx, ["-p", `${dir}/`, "-c", conf, "-e", errorLog], {
    name: "nginx", port: httpPort, dir, why: () => readIfExists(errorLog),
  });
  return {
    dir, confDir, httpsPort, httpPort, certificate, key,
    testCommand: `${base} -t`,
    reloadCommand: `${base} -s reload`,
    pidFile: path.join(dir, "nginx.pid"),
    async test() {
      try {
        const { stderr: output } = await run(nginx, ["-p", `${dir}/`, "-c", conf, "-e", errorLog, "-t"]);
        return { ok: true, output };
      } catch (error) {
        return { ok: false, output: String((error as { stderr?: string }).stderr ?? error) };
      }
    },
    stop,
  };
}

function readIfExists(file: string): string {
  try { return fs.readFileSync(file, "utf8"); } catch { return ""; }
}
