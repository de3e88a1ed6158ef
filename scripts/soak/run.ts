import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { formatReport } from './report.js';
import { bleAvailable, missingTools, runSoak } from './soak.js';
import { errorText } from '../../src/errorText.js';

// `npm run soak -- --minutes N [--seed S] [--no-ble]`: the chaos soak from the command line. Progress
// goes to stderr; the report goes to stdout as JSON, then as a table, and to report.json in the work
// directory. Exit code: 0 pass, 1 fail, 2 bad usage or missing tools, 130 interrupted (Ctrl-C: every
// process the soak started is stopped first).

const USAGE = `usage: npm run soak -- --minutes N [--seed S] [--no-ble | --ble] [--rss-bound-mb M] [--dir D] [--json FILE]

  --minutes N       length of the fault phase (startup and the final drain come on top)
  --seed S          seed of the fault schedule (default 1)
  --no-ble, --ble   leave out / insist on the BLE part (default: on when this build has the bluez transport)
  --rss-bound-mb M  largest RSS growth of one gateway process after its warm-up (default 64)
  --dir D           work directory for the config, database and logs (default: a new temp directory)
  --json FILE       also write the full report there`;

function fail(message: string): never {
  process.stderr.write(`${message}\n\n${USAGE}\n`);
  process.exit(2);
}

function positive(text: string | undefined, name: string, fallback: number): number {
  if (text === undefined) return fallback;
  const value = Number(text);
  if (!Number.isFinite(value) || value <= 0) fail(`--${name} must be a positive number, got "${text}"`);
  return value;
}

async function main(): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({
      options: {
        minutes: { type: 'string' },
        seed: { type: 'string' },
        ble: { type: 'boolean' },
        'no-ble': { type: 'boolean' },
        'rss-bound-mb': { type: 'string' },
        dir: { type: 'string' },
        json: { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
      strict: true,
    });
  } catch (error) {
    fail(errorText(error));
  }
  const { values } = parsed;
  if (values.help) {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }
  if (values.minutes === undefined) fail('--minutes is required');
  if (values.ble && values['no-ble']) fail('--ble and --no-ble contradict each other');
  const seed = values.seed === undefined ? 1 : Number(values.seed);
  if (!Number.isInteger(seed) || seed < 0) fail(`--seed must be a whole number, got "${values.seed}"`);
  const missing = missingTools();
  if (missing.length > 0)
    fail(`the soak needs ${missing.join(', ')} (apt-get install -y ${missing.join(' ')})`);
  const ble = values.ble ? true : values['no-ble'] ? false : 'auto';
  if (ble === 'auto' && !bleAvailable().ok)
    process.stderr.write(`BLE part left out: ${bleAvailable().why}\n`);

  const stop = new AbortController();
  const onSignal = () => {
    if (stop.signal.aborted) return;
    process.stderr.write('\ninterrupted: stopping every process the soak started…\n');
    stop.abort();
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  const report = await runSoak({
    minutes: positive(values.minutes, 'minutes', 1),
    seed,
    ble,
    rssBoundMiB: positive(values['rss-bound-mb'], 'rss-bound-mb', 64),
    dir: values.dir,
    print: (line) => process.stderr.write(`${line}\n`),
    signal: stop.signal,
  });
  const json = JSON.stringify(report, null, 2);
  writeFileSync(join(report.run.dir, 'report.json'), `${json}\n`);
  if (values.json) writeFileSync(values.json, `${json}\n`);
  // The JSON without the per-process timelines and crash tails, which are in report.json.
  const printed = {
    ...report,
    memory: {
      ...report.memory,
      processes: report.memory.processes.map(({ timeline: _timeline, ...rest }) => rest),
    },
    crashes: report.crashes.map(({ tail: _tail, ...rest }) => rest),
  };
  process.stdout.write(`${JSON.stringify(printed, null, 2)}\n\n${formatReport(report)}\n`);
  if (report.run.interrupted) return 130;
  return report.verdict === 'pass' ? 0 : 1;
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    process.stderr.write(
      `soak failed to run: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
    );
    process.exit(1);
  },
);
