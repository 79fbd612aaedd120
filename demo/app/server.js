// The demo's sample app: a plain HTTP server (node built-ins only) that says which container and
// which revision answered. `node server.js check` waits until the server answers with this
// revision, so a deploy step fails when the new version does not come up.
"use strict";
const http = require("http");
const os = require("os");

const port = Number(process.env.APP_PORT || 3000);
const revision = process.env.APP_REVISION || "unknown";

/** The container's own IPv4 address: tells two containers of one preview apart. */
function address() {
  for (const entries of Object.values(os.networkInterfaces())) {
    for (const entry of entries || []) if (entry.family === "IPv4" && !entry.internal) return entry.address;
  }
  return "no-address";
}

function serve() {
  const server = http.createServer((request, response) => {
    if (request.url === "/health") {
      response.writeHead(200, { "content-type": "application/json" });
      response.end(JSON.stringify({ revision, hostname: os.hostname(), address: address() }) + "\n");
      return;
    }
    response.writeHead(200, { "content-type": "text/plain; charset=utf-8" });
    response.end(`hello from ${os.hostname()} (${address()}), revision ${revision}\n`);
  });
  server.listen(port, "0.0.0.0", () => console.log(`listening on :${port}, revision ${revision}`));
  for (const signal of ["SIGTERM", "SIGINT"]) process.on(signal, () => server.close(() => process.exit(0)));
}

function check(deadline) {
  const retry = (why) => {
    if (Date.now() > deadline) {
      console.error(`the app did not answer with revision ${revision} on :${port}: ${why}`);
      process.exit(1);
    }
    setTimeout(() => check(deadline), 100);
  };
  http.get({ host: "127.0.0.1", port, path: "/health", timeout: 2000 }, (response) => {
    let body = "";
    response.setEncoding("utf8").on("data", (chunk) => (body += chunk));
    response.on("end", () => {
      try {
        if (response.statusCode === 200 && JSON.parse(body).revision === revision) {
          console.log(`the app answers with revision ${revision}`);
          return;
        }
      } catch { /* not JSON yet */ }
      retry(`HTTP ${response.statusCode} ${body.trim()}`);
    });
  }).on("error", (error) => retry(error.message));
}

if (process.argv[2] === "check") check(Date.now() + 20_000);
else serve();
