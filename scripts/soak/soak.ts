import { existsSync } from 'node:fs';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { MOSQUITTO_BIN } from '../../bench/broker.js';
import { findDbusDaemon } from '../../src/drivers/shared/bluez/simulator/daemon.js';
import { DRIVERS } from '../../src/drivers/registry.js';
import { socatAvailable } from '../../src/drivers/mbus/simulator/pty.js';
import { badCommands, type BurstResult, sendBurst } from './commands.js';
import { type FaultRecord, runFault } from './faults.js';
import type { GatewayCrash } from './gateway.js';
import { writeRaw } from './raw.js';
import { buildReport, type ReportInput, type SoakReport } from './report.js';
import { LAMP_ADDRESSES, METER_COUNT, Rig } from './rig.js';
import { ResourceSampler } from './sampler.js';
import { describePlanned, planSchedule, type Slot } from './schedule.js';

// The chaos soak: starts the rig (rig.ts), waits until every simulated device is reading, then runs the
// seed's fault schedule (schedule.ts) slot by slot until its time is up, waiting after each slot until
// the devices it hit read again (or a cap), and ends with a clean stop of the gateway, whose database then
// says how many readings it numbered. The verdict and the figures are computed in report.ts.

export interface SoakOptions {
  minutes: number;
  seed: number;
  /** `auto`: when this build has the BLE bluez transport and dbus-daemon is installed. */
  ble: boolean | 'auto';
  /** Largest RSS growth of one gateway process after its warm-up, MiB. */
  rssBoundMiB?: number;
  /** Default 3000 ms. */
  sampleMs?: number;
  dir?: string;
  print?: (line: string) => void;
  signal?: AbortSignal;
}

/** What a soak needs installed; the names of what is missing. */
export function missingTools(): string[] {
  const missing: string[] = [];
  if (MOSQUITTO_BIN === undefined) missing.push('mosquitto');
  if (!socatAvailable()) missing.push('socat');
  return missing;
}

/** Whether the BLE part can run: this build's BLE driver has the bluez transport, and dbus-daemon exists. */
export function bleAvailable(): { ok: boolean; why: string } {
  if (DRIVERS.ble.transports.bluez === undefined) {
    return { ok: false, why: 'this build has no BLE bluez transport yet' };
  }
  if (findDbusDaemon() === undefined) return { ok: false, why: 'dbus-daemon is not installed' };
  return { ok: true, why: '' };
}

/** How long the soak waits for the devices of a slot to read again before it moves on. */
const RECOVERY_CAP_MS = 120_000;
/** Quiet time after each slot, so that slots do not run into each other's tail. */
const SETTLE_MS = 3_000;
const STARTUP_LIMIT_MS = 180_000;
/** Gateway kills stop halfway, so the second half has one long-lived process for the memory check. */
const KILLS_UNTIL = 0.5;

class Aborted extends Error {}

export async function runSoak(options: SoakOptions): Promise<SoakReport> {
  const missing = missingTools();
  if (missing.length > 0)
    throw new Error(`the soak needs ${missing.join(', ')} (apt-get install -y ${missing.join(' ')})`);
  const ble = options.ble === 'auto' ? bleAvailable().ok : options.ble;
  if (ble && !bleAvailable().ok) throw new Error(`--ble: ${bleAvailable().why}`);
  const print = options.print ?? (() => undefined);
  const crashes: GatewayCrash[] = [];
  const rig: Rig = new Rig({
    seed: options.seed,
    ble,
    dir: options.dir,
    print,
    onCrash: (crash) => {
      crashes.push(crash);
      rig.log(
        `GATEWAY CRASHED (pid ${crash.pid}, code ${crash.code}, signal ${crash.signal}); restarting it in 1 s`,
      );
      // As systemd would: start it again, so the rest of the soak still means something.
      if (!options.signal?.aborted) setTimeout(() => rig.gateway.start(), 1_000).unref();
    },
  });
  const signal = options.signal;
  const sleep = (ms: number) =>
    new Promise<void>((resolve, reject) => {
      if (signal?.aborted) return reject(new Aborted('aborted'));
      const timer = setTimeout(() => {
        signal?.removeEventListener('abort', onAbort);
        resolve();
      }, ms);
      const onAbort = () => {
        clearTimeout(timer);
        reject(new Aborted('aborted'));
      };
      signal?.addEventListener('abort', onAbort, { once: true });
    });
  const sampler = new ResourceSampler(rig.origin, () => {
    const pid = rig.gateway.pid;
    const started = rig.gateway.starts.at(-1);
    return pid === undefined || started?.pid !== pid ? undefined : { pid, t: started.t };
  });
  const faults: FaultRecord[] = [];
  const bursts: BurstResult[] = [];
  const budgetMs = options.minutes * 60_000;
  let phase = { from: 0, to: 0 };
  let database: ReportInput['database'];
  let loadStart = 0;
  try {
    loadStart = loadavg()[0] ?? 0;
    await rig.start();
    sampler.start(options.sampleMs ?? 3_000);
    await waitForDevices(rig, ble, sleep);
    const slots = planSchedule({
      seed: options.seed,
      ble,
      meters: Array.from({ length: METER_COUNT }, (_, i) => i + 1),
      lamps: LAMP_ADDRESSES,
    });
    phase = { from: Date.now(), to: 0 };
    rig.log(`fault phase: ${options.minutes} min, seed ${options.seed}, BLE ${ble ? 'on' : 'off'}`);
    for (const slot of slots) {
      const elapsed = Date.now() - phase.from;
      if (elapsed >= budgetMs) break;
      if (slot.type === 'infra' && slot.fault.kind === 'gateway_kill' && elapsed > budgetMs * KILLS_UNTIL) {
        rig.log(`skipped ${describePlanned(slot.fault)}: the second half keeps one gateway process`);
        continue;
      }
      await runSlot(slot, rig, sleep, faults, bursts);
    }
    rig.log('fault phase over: waiting for every device to read again');
    const lastEnd = Math.max(phase.from, ...faults.map((fault) => fault.end));
    await waitRecovered(rig, rig.recorder.readingDevices(), lastEnd, sleep);
    await sleep(SETTLE_MS);
    phase.to = Date.now();
    sampler.stop();
    await sampler.sample();
    rig.log('stopping the gateway (SIGTERM: it drains what it can)');
    await rig.gateway.close();
    database = readDatabase(join(rig.dir, 'fieldbridge.db'), rig.base);
    await waitDelivered(rig, database, sleep);
  } catch (error) {
    if (!(error instanceof Aborted)) throw error;
    rig.log('interrupted: stopping everything');
  } finally {
    sampler.stop();
    await rig.stop();
  }
  const input: ReportInput = {
    options: { minutes: options.minutes, seed: options.seed, ble, rssBoundMiB: options.rssBoundMiB ?? 64 },
    dir: rig.dir,
    recorder: rig.recorder,
    faults,
    bursts,
    crashes,
    series: sampler.series,
    database,
    origin: rig.origin,
    phase: { from: phase.from || rig.origin, to: phase.to || Date.now() },
    // A fresh process settles its heap within its first half minute under the soak's load.
    warmupMs: 30_000,
    rssBoundMiB: options.rssBoundMiB ?? 64,
    interrupted: signal?.aborted ?? false,
    loadStart,
    endedAt: Date.now(),
    loadEnd: loadavg()[0] ?? 0,
    bleAdvertisements: rig.bluez?.sensors.reduce((sum, sensor) => sum + (sensor.last?.sequence ?? 0), 0),
  };
  writeRaw(join(rig.dir, 'raw.json'), input, rig.recorder);
  return buildReport(input);
}

async function waitForDevices(rig: Rig, ble: boolean, sleep: (ms: number) => Promise<void>): Promise<void> {
  const wanted: [string, number][] = [
    ['mbus', METER_COUNT],
    ['dali', LAMP_ADDRESSES.length],
  ];
  if (ble) wanted.push(['ble', 3]);
  const reading = (driver: string) =>
    rig.recorder.devicesOf(driver).filter((id) => rig.recorder.readings.has(id));
  const deadline = Date.now() + STARTUP_LIMIT_MS;
  while (!wanted.every(([driver, count]) => reading(driver).length >= count)) {
    if (Date.now() > deadline) {
      const got = wanted.map(([driver, count]) => `${driver} ${reading(driver).length}/${count}`).join(', ');
      throw new Error(
        `not every simulated device was reading after ${STARTUP_LIMIT_MS / 1000} s (${got}); see ${rig.dir}/gateway.log`,
      );
    }
    await sleep(500);
  }
  // The groups and any late device: a few more seconds of readings before the first fault.
  await sleep(5_000);
  rig.log(`devices reading: ${rig.recorder.readingDevices().sort().join(', ')}`);
}

/** Waits until each device has published a reading taken at or after `since`, or the cap. */
async function waitRecovered(
  rig: Rig,
  devices: readonly string[],
  since: number,
  sleep: (ms: number) => Promise<void>,
): Promise<boolean> {
  const deadline = Date.now() + RECOVERY_CAP_MS;
  const waiting = () => devices.filter((id) => rig.recorder.firstTakenSince(id, since) === undefined);
  while (waiting().length > 0) {
    if (Date.now() > deadline) {
      rig.log(`still not reading after ${RECOVERY_CAP_MS / 1000} s: ${waiting().join(', ')}`);
      return false;
    }
    await sleep(250);
  }
  return true;
}

async function runSlot(
  slot: Slot,
  rig: Rig,
  sleep: (ms: number) => Promise<void>,
  faults: FaultRecord[],
  bursts: BurstResult[],
): Promise<void> {
  const planned = slot.type === 'infra' ? [slot.fault] : slot.faults;
  const running = planned.map((fault) => runFault(fault, rig, sleep));
  if (slot.type === 'devices') {
    const lamp = rig.recorder.devicesOf('dali').find((id) => id.includes('lamp')) ?? 'dali_lamp_0';
    const meter = rig.recorder.devicesOf('mbus')[0] ?? 'mbus_12340001';
    const burst = await sendBurst(rig.recorder, badCommands(rig.base, { lamp, meter }), 15_000, sleep);
    bursts.push(burst);
    if (burst.failures.length > 0)
      rig.log(`bad commands not answered with an error: ${burst.failures.join(', ')}`);
  }
  const done = await Promise.all(running);
  faults.push(...done);
  for (const record of done)
    for (const problem of record.problems) rig.log(`injection problem (${record.kind}): ${problem}`);
  for (const record of done) await waitRecovered(rig, record.affected, record.end, sleep);
  await sleep(SETTLE_MS);
}

/** The gateway's own count: the last seq per device, and the readings still queued in its outbox. */
function readDatabase(
  path: string,
  base: string,
): { lastSeq: Map<string, number>; queued: Map<string, Set<number>> } | undefined {
  if (!existsSync(path)) return undefined;
  const db = new Database(path, { readonly: true, fileMustExist: true });
  try {
    const lastSeq = new Map<string, number>();
    for (const row of db.prepare('SELECT device_id, last_seq FROM sequences').all() as {
      device_id: string;
      last_seq: number;
    }[]) {
      lastSeq.set(row.device_id, row.last_seq);
    }
    const queued = new Map<string, Set<number>>();
    const rows = db.prepare("SELECT topic, payload FROM outbox WHERE topic LIKE '%/reading'").all() as {
      topic: string;
      payload: string;
    }[];
    for (const row of rows) {
      const id = row.topic.slice(base.length + 1, -'/reading'.length);
      const seq = (JSON.parse(row.payload) as { seq?: number }).seq;
      if (typeof seq !== 'number') continue;
      let set = queued.get(id);
      if (!set) queued.set(id, (set = new Set()));
      set.add(seq);
    }
    return { lastSeq, queued };
  } finally {
    db.close();
  }
}

/** After the clean stop: gives the last readings (already acknowledged by the broker) time to arrive. */
async function waitDelivered(
  rig: Rig,
  database: ReturnType<typeof readDatabase>,
  sleep: (ms: number) => Promise<void>,
): Promise<void> {
  if (!database) return;
  const complete = () =>
    [...database.lastSeq].every(([id, last]) => {
      const list = rig.recorder.readings.get(id) ?? [];
      const highest = list.reduce((max, reading) => Math.max(max, reading.seq), 0);
      return highest >= last || database.queued.get(id)?.has(last) === true;
    });
  for (let waited = 0; waited < 10_000 && !complete(); waited += 200) await sleep(200);
}
