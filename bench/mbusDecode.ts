import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseFrame, parseHex } from '../src/drivers/mbus/codec/frames.js';
import { decodeTelegram } from '../src/drivers/mbus/codec/telegram.js';
import { type Figure, machineDescription, printFigures } from './report.js';
import { BENCH_SOURCE_DIR } from './scripts.js';

// M-Bus application-layer decode throughput: the 76 libmbus test frames (real meters, 9 to 64 records
// each) decoded round after round, after a warm-up so the JIT has settled. The baseline is the link
// layer alone (parseFrame: length, checksum, copy) on the same frames, so the ratio is the share of the
// work that is frame checking. The goal: a gateway polling 250 meters must spend well under a
// millisecond per meter decoding, i.e. 10,000 frames/s on one core.
//
// Run alone: node --import tsx bench/mbusDecode.ts [rounds]

const ROUNDS = 3_000;
const WARM_UP_ROUNDS = 400;
const GOAL_FRAMES_PER_SECOND = 10_000;

const VECTORS = process.env.FIELDBRIDGE_VECTORS ?? resolve(BENCH_SOURCE_DIR, '../../shared/vectors');

export const MBUS_DECODE_TITLE = 'M-Bus decode (76 libmbus test frames)';

/** The frames, or why there are none. */
function loadFrames(): Buffer[] | string {
  const dir = join(VECTORS, 'libmbus', 'test-frames');
  if (!existsSync(dir)) return `vectors not found at ${dir} (set FIELDBRIDGE_VECTORS)`;
  return readdirSync(dir)
    .filter((name) => name.endsWith('.hex'))
    .sort()
    .map((name) => parseHex(readFileSync(join(dir, name), 'latin1')));
}

/** Frames per second of `work` over `rounds` passes through `frames`. */
function rate(
  frames: readonly Buffer[],
  rounds: number,
  work: (frame: Buffer) => number,
): { perSecond: number; sink: number } {
  let sink = 0;
  const began = performance.now();
  for (let round = 0; round < rounds; round++) {
    for (const frame of frames) sink += work(frame);
  }
  const seconds = (performance.now() - began) / 1000;
  return { perSecond: (frames.length * rounds) / seconds, sink };
}

const decodeRecords = (frame: Buffer) => decodeTelegram(frame).records.length;
const parseOnly = (frame: Buffer) => (parseFrame(frame).kind === 'long' ? 1 : 0);

/** The figures, or a string saying why the benchmark was skipped. */
export function benchMbusDecode(rounds = ROUNDS): Figure[] | string {
  const frames = loadFrames();
  if (typeof frames === 'string') return frames;
  rate(frames, Math.min(WARM_UP_ROUNDS, rounds), decodeRecords);
  rate(frames, Math.min(WARM_UP_ROUNDS, rounds), parseOnly);
  const decoded = rate(frames, rounds, decodeRecords);
  const parsed = rate(frames, rounds, parseOnly);
  const recordsPerFrame = decoded.sink / (frames.length * rounds);
  return [
    {
      name: `decodeTelegram, ${frames.length} frames (${recordsPerFrame.toFixed(1)} records each) × ${rounds.toLocaleString('en-US')} rounds`,
      value: decoded.perSecond,
      unit: 'frames/s',
      baselineName: 'parseFrame only (link layer)',
      baseline: parsed.perSecond,
      better: 'higher',
    },
    {
      name: 'decodeTelegram throughput',
      value: decoded.perSecond,
      unit: 'frames/s',
      baselineName: 'goal',
      baseline: GOAL_FRAMES_PER_SECOND,
      better: 'higher',
    },
  ];
}

/** Prints the figures (or the skip line) the way bench/run.ts prints every benchmark. */
export function printMbusDecode(rounds = ROUNDS): void {
  const result = benchMbusDecode(rounds);
  if (typeof result === 'string') console.log(`\n## ${MBUS_DECODE_TITLE}\n\nskipped: ${result}`);
  else printFigures(MBUS_DECODE_TITLE, result);
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const rounds = Number(process.argv[2] ?? ROUNDS);
  console.log(`machine: ${machineDescription()}`);
  printMbusDecode(Number.isInteger(rounds) && rounds > 0 ? rounds : ROUNDS);
}
