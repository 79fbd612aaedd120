// Prints the mutation score per folder from Stryker's JSON report: one line for provider/ and src/, then one
// per subfolder. Score as Stryker counts it: (killed + timeout) / (killed + timeout + survived + no coverage);
// "covered" leaves out the mutants no unit test reaches (code exercised only through the provider host).
const fs = require("fs");
const path = require("path");
// `node scripts/mutation/summary.js [report.json ...]`: with several reports (runs over different parts, e.g.
// one per folder or line range, on the same commit), their mutants are merged by file and position, a later
// report's status winning, so the parts add up to one figure.
const files = require.main === module ? process.argv.slice(2) : []; // run.js requires it after its own arguments
const reports = (files.length ? files : [path.resolve(__dirname, "../../reports/mutation/mutation.json")])
  .map((file) => JSON.parse(fs.readFileSync(file, "utf8")));
const merged = new Map();
for (const r of reports) {
  for (const [name, { mutants }] of Object.entries(r.files)) {
    const byKey = merged.get(name) ?? new Map();
    for (const m of mutants) {
      const { start, end } = m.location;
      byKey.set(`${start.line}:${start.column}-${end.line}:${end.column} ${m.mutatorName} ${m.replacement ?? ""}`, m);
    }
    merged.set(name, byKey);
  }
}
const report = { files: Object.fromEntries([...merged].map(([name, byKey]) => [name, { mutants: [...byKey.values()] }])) };
const folders = new Map();
const add = (name, status) => {
  const c = folders.get(name) ?? { Killed: 0, Timeout: 0, Survived: 0, NoCoverage: 0, other: 0 };
  c[status in c ? status : "other"]++;
  folders.set(name, c);
};
for (const [name, { mutants }] of Object.entries(report.files)) {
  const parts = name.split(/[\\/]/);
  for (const m of mutants) {
    add(`${parts[0]}/`, m.status);
    if (parts.length > 2) add(`${parts[0]}/${parts[1]}/`, m.status);
  }
}
const pct = (n, d) => (d ? ((100 * n) / d).toFixed(1) + "%" : "-").padStart(7);
console.log("\nmutation score per folder (killed+timeout / valid; covered = without 'no coverage')");
for (const name of [...folders.keys()].sort((a, b) => a.localeCompare(b))) {
  const c = folders.get(name);
  const detected = c.Killed + c.Timeout;
  const covered = detected + c.Survived;
  const valid = covered + c.NoCoverage;
  const top = name.split("/").length === 2;
  console.log(
    `${top ? "" : "  "}${name.padEnd(top ? 22 : 20)} score ${pct(detected, valid)}  covered ${pct(detected, covered)}  ` +
      `killed ${detected}  survived ${c.Survived}  no coverage ${c.NoCoverage}  ignored/invalid ${c.other}`,
  );
}
