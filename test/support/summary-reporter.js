// Mocha's spec reporter, plus one closing line in the plain form CI reads in any language:
// "tests: N passed, N failed, N skipped".
const Mocha = require("mocha");

function renderMatrix(list) {
  // Loaded lazily: the reporter is plain JS, the module is TypeScript through ts-node.
  return require("./fault-matrix").renderMatrix(list);
}

class SummaryReporter extends Mocha.reporters.Spec {
  constructor(runner, options) {
    super(runner, options);
    runner.once(Mocha.Runner.constants.EVENT_RUN_END, () => {
      const { passes, failures, pending } = runner.stats;
      // The fault matrix (test/support/fault-matrix.ts) keeps its cells on globalThis under this key.
      const matrix = globalThis[Symbol.for("pulumi-launchpad.fault-matrix")];
      if (matrix && matrix.length) process.stdout.write(`\n${renderMatrix(matrix)}`);
      process.stdout.write(`tests: ${passes} passed, ${failures} failed, ${pending} skipped\n`);
    });
  }
}

module.exports = SummaryReporter;
