import { pathToFileURL } from 'node:url';
import { answerWindowMs, parseFrame, wireTimeMs } from '../src/drivers/mbus/codec/frames.js';
import { C_FIELD, sndNke } from '../src/drivers/mbus/codec/master.js';
import { MbusMaster } from '../src/drivers/mbus/master.js';
import { scanPrimary, scanSecondary } from '../src/drivers/mbus/scan.js';
import { SimulatedLineLink } from '../src/drivers/mbus/simulator/lineLink.js';
import { defaultMeters, type MeterSpec } from '../src/drivers/mbus/simulator/meters.js';
import { MbusBus } from '../src/drivers/mbus/simulator/slave.js';
import { type Figure, machineDescription, printFigures } from './report.js';

// The M-Bus master on a simulated line in real time: the meter simulator's bus, characters at the baud
// rate and meters answering at their own moments inside the standard's window (so a wildcard select
// gets E5s one after another or overlapping, as on a real bus). Three measurements:
// - primary scan 0-250 at 2400 Bd against the physical limit of one probe per address (the SND_NKE on
//   the wire plus the standard's answer timeout, 330 bit times + 50 ms), plus the readouts of the
//   meters found; the goal is 1.2× of it (libmbus takes about 1.5×);
// - secondary scans of 3, 10 and 30 meters: probes and time against a plain wildcard descent (every
//   digit under every collision, each match selected again before its read, as libmbus does);
// - a poll cycle at 2400 Bd: time per meter against the wire time of its requests and telegrams.
// These take minutes of waiting (little CPU): it is what the line costs.
//
// Run alone: node --import tsx bench/mbusLine.ts

export const MBUS_LINE_TITLE = 'M-Bus on a simulated line (real time, meters answering across the window)';

const SCAN_BAUD = 2400;
/** Secondary scans send hundreds of probes: at 9600 Bd they take a quarter of the time at 2400. */
const SECONDARY_BAUD = 9600;

function rig(meters: MeterSpec[], baud: number, seed: number, spreadAnswers = true) {
  const bus = new MbusBus({ meters, startedAt: Date.now(), baud, seed, spreadAnswers });
  const link = new SimulatedLineLink(bus);
  return { bus, link, master: new MbusMaster(link, baud) };
}

/** `count` meters at primary address 0 with ids spread like a building's (seeded). */
function buildingMeters(count: number, seed: number): MeterSpec[] {
  let state = seed;
  const next = () => {
    state = (state * 1_103_515_245 + 12_345) % 2 ** 31;
    return state / 2 ** 31;
  };
  const ids = new Set<string>();
  // Ids from one delivery batch share leading digits, as they do in a real building.
  while (ids.size < count) ids.add(`6${String(Math.floor(next() * 10_000_000)).padStart(7, '0')}`);
  const templates = defaultMeters(5);
  return [...ids].map((id, index) => ({ ...(templates[index % 5] as MeterSpec), address: 0, id }));
}

async function timed<T>(work: () => Promise<T>): Promise<{ result: T; ms: number }> {
  const began = performance.now();
  const result = await work();
  return { result, ms: performance.now() - began };
}

async function primaryScan(): Promise<Figure[]> {
  const { link, master } = rig(defaultMeters(3), SCAN_BAUD, 1);
  const { result, ms } = await timed(() =>
    scanPrimary(master, { from: 0, to: 250 }, AbortSignal.timeout(600_000)),
  );
  const window = answerWindowMs(SCAN_BAUD).latest;
  const probes = 251 * (wireTimeMs(sndNke(0).length, SCAN_BAUD) + window);
  // The readouts of the meters found: REQ_UD2 and telegrams on the wire, and each meter's turnaround.
  const readRequests = link.written.filter(({ bytes }) => {
    const frame = parseFrame(bytes);
    return frame.kind === 'short' && (frame.c & ~C_FIELD.FCB) === C_FIELD.REQ_UD2;
  });
  const telegramBytes = link.received - result.length; // minus the found meters' E5s
  const readouts = wireTimeMs(readRequests.length * 5 + telegramBytes, SCAN_BAUD) + readRequests.length * 10;
  return [
    {
      name: `primary scan 0-250 at ${SCAN_BAUD} Bd, ${result.length} meters (${link.written.length} frames sent)`,
      value: ms / 1000,
      unit: 's',
      baselineName: 'physical limit (SND_NKE + 330 bit times + 50 ms per address, plus the readouts)',
      baseline: (probes + readouts) / 1000,
      better: 'lower',
    },
    {
      name: 'primary scan against its physical limit (libmbus: about 1.5)',
      value: ms / (probes + readouts),
      unit: '×',
      baselineName: 'goal',
      baseline: 1.2,
      better: 'lower',
    },
  ];
}

/** A plain wildcard descent, for comparison: every digit under every collision, reads select again. */
async function plainDescent(master: MbusMaster, signal: AbortSignal): Promise<number> {
  let found = 0;
  await master.ping(0xfd, signal, 1);
  const visit = async (prefix: string): Promise<void> => {
    const pattern = `${prefix.padEnd(8, 'F')}FFFFFFFF`;
    const answer = await master.select(pattern, signal, 1);
    if (answer === 'none') return;
    if (answer === 'ack') {
      try {
        await master.read({ secondary: pattern }, signal);
        found++;
        return;
      } catch {
        // unreadable: treated as a collision below, as fieldbridge does (or it would lose meters)
      }
    }
    if (prefix.length === 8) return;
    for (const digit of '0123456789') await visit(prefix + digit);
  };
  await visit('');
  return found;
}

async function secondaryScan(count: number): Promise<Figure[]> {
  const meters = buildingMeters(count, count);
  const ours = rig(meters, SECONDARY_BAUD, count);
  const scan = await timed(() => scanSecondary(ours.master, AbortSignal.timeout(1_800_000)));
  const plain = rig(meters, SECONDARY_BAUD, count);
  const descent = await timed(() => plainDescent(plain.master, AbortSignal.timeout(1_800_000)));
  return [
    {
      name: `secondary scan, ${count} meters: found`,
      value: scan.result.length,
      unit: 'meters',
      baselineName: 'goal',
      baseline: count,
      better: 'higher',
    },
    {
      name: `secondary scan, ${count} meters at ${SECONDARY_BAUD} Bd: probes (the plain descent found ${descent.result})`,
      value: ours.link.written.length,
      unit: 'frames',
      baselineName: 'plain wildcard descent',
      baseline: plain.link.written.length,
      better: 'lower',
    },
    {
      name: `secondary scan, ${count} meters: time`,
      value: scan.ms / 1000,
      unit: 's',
      baselineName: 'plain wildcard descent',
      baseline: descent.ms / 1000,
      better: 'lower',
    },
  ];
}

async function pollCycle(count: number): Promise<Figure[]> {
  const meters = defaultMeters(count);
  // Each meter answers after the default 10 ms turnaround: what is measured is the master's share.
  const { link, master } = rig(meters, SCAN_BAUD, 3, false);
  const signal = AbortSignal.timeout(600_000);
  for (const meter of meters) await master.ping(meter.address, signal, 1);
  const receivedBefore = link.received;
  const writtenBefore = link.written.length;
  const { ms } = await timed(async () => {
    for (const meter of meters) await master.read({ primary: meter.address }, signal);
  });
  const requests = link.written.slice(writtenBefore).reduce((sum, { bytes }) => sum + bytes.length, 0);
  const wire = wireTimeMs(requests + link.received - receivedBefore, SCAN_BAUD);
  return [
    {
      name: `poll cycle of ${count} meters at ${SCAN_BAUD} Bd, per meter (${link.written.length - writtenBefore} requests)`,
      value: ms / count,
      unit: 'ms',
      baselineName: 'wire time of its requests and telegrams',
      baseline: wire / count,
      better: 'lower',
    },
    {
      name: "poll cycle overhead over the wire time (the meters' 10 ms turnaround included)",
      value: (100 * (ms - wire)) / wire,
      unit: '%',
      baselineName: 'goal',
      baseline: 10,
      better: 'lower',
    },
  ];
}

export async function benchMbusLine(): Promise<Figure[]> {
  const figures = [...(await pollCycle(10)), ...(await primaryScan())];
  for (const count of [3, 10, 30]) figures.push(...(await secondaryScan(count)));
  return figures;
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  console.log(`machine: ${machineDescription()}`);
  printFigures(MBUS_LINE_TITLE, await benchMbusLine());
}
