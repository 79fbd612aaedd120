// Mutation testing (`npm run mutation`, issue #15). Not part of `npm test` or CI: it takes tens of minutes.
//
// Which tests run: test/unit only. They load provider/ and src/ in-process through relative imports,
// so Stryker's mutant switching (globalThis.__stryker__.activeMutant) reaches them, and per-test coverage
// lets each mutant run only the unit tests that execute it.
// Host, integration and e2e tests are left out on purpose: their provider code runs in a child process (the
// dynamic-provider host) that loads compiled dist/ through require("pulumi-launchpad/provider/..."), and
// node_modules/pulumi-launchpad is a symlink to the ORIGINAL checkout, not to Stryker's sandbox. Making them
// count would take a buildCommand compiling the instrumented sources to the sandbox's dist/, a self-link into
// the sandbox, the child inheriting __STRYKER_ACTIVE_MUTANT__ (the instrumented code reads it when
// globalThis.__stryker__ is empty), and coverageAnalysis "off" because the child's coverage never reaches
// the runner: every mutant would then run every host test (minutes each), far too slow on this hardware.
// So a mutant reached only through the host counts as "no coverage": the score is what the unit tests prove.
// Also run: the integration tests that call a layer's functions in this process (relative imports, so they
// see the mutants) against real servers on loopback, started once per file in `before` (so per mutant run;
// proxy-apply and acme-apply keep theirs for the worker's life instead: test/support/servers-once.ts).
// Only files whose tests each stand alone: the runner runs just the tests that reach a mutant, so a test
// that needs state an earlier one left would fail for that reason alone (test/integration/proxy.test.ts).
// Every one of them reaches provider/ssh, so a run over all of them costs minutes per mutant: measure one
// folder with its own tests, e.g. `npm run mutation -- --mutate "provider/dns/**/*.ts" --testFiles
// "test/unit/**/*.test.ts,test/integration/dns.test.ts,test/integration/dns-backends.test.ts"` (proxy: proxy-apply; acme: acme-apply; acl: acl-apply; deploy:
// deploy-ssh and deploy-errors; ssh: proxy-ssh, ssh-session, ssh-connect and deploy-ssh).
/** @type {import('@stryker-mutator/api/core').PartialStrykerOptions} */
export default {
  mutate: ["provider/**/*.ts", "src/**/*.ts", "!**/*.d.ts"],
  testRunner: "mocha",
  mochaOptions: {
    config: ".mocharc.json",
    spec: [
      "test/unit/**/*.test.ts",
      "test/integration/container-apply.test.ts",
      "test/integration/container-image.test.ts",
      "test/integration/proxmox-client.test.ts",
      "test/integration/proxmox-client-tasks.test.ts",
      "test/integration/proxmox-client-waits.test.ts",
      "test/integration/proxy-ssh.test.ts",
      "test/integration/ssh-session.test.ts",
      "test/integration/ssh-connect.test.ts",
      "test/integration/deploy-ssh.test.ts",
      "test/integration/deploy-errors.test.ts",
      "test/integration/dns.test.ts",
      "test/integration/dns-backends.test.ts",
      "test/integration/proxy-apply.test.ts",
      "test/integration/acme-apply.test.ts",
      "test/integration/acl-apply.test.ts",
    ],
  },
  coverageAnalysis: "perTest",
  // A static mutant (module-level code, run once at load) needs every unit test rerun in a fresh process;
  // they are reported as "ignored" instead, which keeps a full run within tens of minutes.
  ignoreStatic: true,
  // No TypeScript checker: on this shared 2-core machine it projected a full run at 8 hours. ts-node runs
  // transpile-only, so a mutant that would not type-check still runs as JavaScript; it is killed or survives
  // on behaviour, and a survivor that cannot compile is listed as equivalent in the README.
  // Kept locally (gitignored): a rerun tests only mutants in changed code or covered by changed tests.
  incremental: true,
  incrementalFile: "reports/stryker-incremental.json",
  // The machine is shared: one test runner, one checker.
  concurrency: 1,
  // A mutant's time limit counts its tests, not the `before` hooks that start the integration tests' servers
  // (seconds on a busy machine): at 5 s, a mutant run would time out, and count as killed, for that alone.
  timeoutMS: 20000,
  // The spec includes in-process integration tests against the sandbox: on a loaded machine the initial run outlasts the 5-minute default.
  dryRunTimeoutMinutes: 30,
  reporters: ["clear-text", "json", "progress-append-only"],
  jsonReporter: { fileName: "reports/mutation/mutation.json" },
  clearTextReporter: { allowEmojis: false, logTests: false, reportScoreTable: true },
  tempDirName: ".stryker-tmp",
  cleanTempDir: true,
};
