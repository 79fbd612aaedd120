// The fault matrix (issue #15): rows are resource x operation, columns are faults. Each cell is one
// mocha test through the real provider host; this module only names the cells, records how each
// ended, and lets the summary reporter print the table once at the end of the run.
export type Operation = "create" | "update" | "refresh" | "delete";

export interface FaultCell {
  resource: string;
  operation: Operation;
  fault: string;
}

interface Outcome extends FaultCell {
  passed: boolean;
}

// One list per process, on globalThis so the reporter (plain JS, loaded by mocha) reads the same one.
const KEY = Symbol.for("pulumi-launchpad.fault-matrix");
const outcomes: Outcome[] = ((globalThis as Record<symbol, unknown>)[KEY] ??= []) as Outcome[];

/** A mocha test for one cell; its outcome lands in the matrix whether it passes or throws. */
export function cell(spec: FaultCell, body: () => Promise<void>): Mocha.Test {
  return it(`${spec.resource} ${spec.operation} / ${spec.fault}`, async function () {
    let passed = false;
    try {
      await body.call(this);
      passed = true;
    } finally {
      outcomes.push({ ...spec, passed });
    }
  });
}

/** The matrix as text: one row per resource and operation, one column per fault seen in that row. */
export function renderMatrix(list: readonly Outcome[] = outcomes): string {
  if (!list.length) return "";
  const rows = new Map<string, Outcome[]>();
  for (const o of list) {
    const key = `${o.resource} ${o.operation}`;
    rows.set(key, [...(rows.get(key) ?? []), o]);
  }
  const width = Math.max(...[...rows.keys()].map((k) => k.length));
  const lines = [...rows].map(([row, cells]) =>
    `  ${row.padEnd(width)}  ${cells.map((c) => `${c.fault}: ${c.passed ? "pass" : "FAIL"}`).join(" | ")}`);
  const passing = list.filter((o) => o.passed).length;
  return `fault matrix (resource operation  fault: result)\n${lines.join("\n")}\nfault matrix: ${passing}/${list.length} cells passing\n`;
}
