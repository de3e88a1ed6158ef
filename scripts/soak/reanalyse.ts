import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { readRaw } from './raw.js';
import { buildReport, formatReport } from './report.js';

// `node --import tsx scripts/soak/reanalyse.ts <work directory>`: computes a finished soak's report
// again from its raw.json (after a change to the analysis), prints the table and rewrites report.json.
// The run's duration and the machine's load at its end are those of this moment, not of the run.

const dir = process.argv[2];
if (dir === undefined) {
  process.stderr.write('usage: node --import tsx scripts/soak/reanalyse.ts <soak work directory>\n');
  process.exit(2);
}
const report = buildReport(readRaw(join(dir, 'raw.json')));
writeFileSync(join(dir, 'report.json'), `${JSON.stringify(report, null, 2)}\n`);
process.stdout.write(`${formatReport(report)}\n`);
process.exit(report.verdict === 'pass' ? 0 : 1);
