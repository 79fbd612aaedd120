// The fault matrix (issue #15): rows are resource x operation, columns are faults. Each cell is one
// mocha test through the real provider host, titled `<resource> <operation> / <fault>` in a
// `fault-matrix-*.test.ts` file. The summary reporter reads the cells back from those titles and
// their results: no state is shared with the test processes, so it works with `mocha --parallel`.
export type Operation = "create" | "update" | "refresh" | "delete";

export interface FaultCell {
  resource: string;
  operation: Operation;
  fault: string;
}

export interface Outcome extends FaultCell {
  passed: boolean;
}

/** A mocha test for one cell. */
export function cell(spec: FaultCell, body: () => Promise<void>): Mocha.Test {
  return it(`${spec.resource} ${spec.operation} / ${spec.fault}`, body);
}

/** Which files hold cells. */
export const CELL_FILE = /(^|[\\/])fault-matrix-[^\\/]+\.test\.[jt]s$/;

/** The cell a test of a matrix file names in its title, or undefined for a title of another form. */
export function parseCell(title: string): FaultCell | undefined {
  const match = /^(.+) (create|update|refresh|delete) \/ (.+)$/.exec(title);
  return match ? { resource: match[1], operation: match[2] as Operation, fault: match[3] } : undefined;
}

/** The matrix as text: one row per resource and operation, one column per fault seen in that row. */
export function renderMatrix(list: readonly Outcome[]): string {
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
