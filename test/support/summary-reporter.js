// Mocha's spec reporter, plus the fault matrix and one closing line in the plain form CI reads in any
// language: "tests: N passed, N failed, N skipped". It runs in mocha's main process: under --parallel
// the tests run in workers, so the matrix is read from the cells' titles and results, as they arrive.
const Mocha = require("mocha");

function matrix() {
  // Loaded lazily: the reporter is plain JS, the module is TypeScript through ts-node.
  return require("./fault-matrix");
}

class SummaryReporter extends Mocha.reporters.Spec {
  constructor(runner, options) {
    super(runner, options);
    const outcomes = [];
    const record = (test, passed) => {
      if (test.type !== "test" || !test.file || !matrix().CELL_FILE.test(test.file)) return;
      const cell = matrix().parseCell(test.title);
      if (cell) outcomes.push({ ...cell, passed });
    };
    runner.on(Mocha.Runner.constants.EVENT_TEST_PASS, (test) => record(test, true));
    runner.on(Mocha.Runner.constants.EVENT_TEST_FAIL, (test) => record(test, false));
    runner.once(Mocha.Runner.constants.EVENT_RUN_END, () => {
      const { passes, failures, pending } = runner.stats;
      if (outcomes.length) process.stdout.write(`\n${matrix().renderMatrix(outcomes)}`);
      process.stdout.write(`tests: ${passes} passed, ${failures} failed, ${pending} skipped\n`);
    });
  }
}

module.exports = SummaryReporter;
