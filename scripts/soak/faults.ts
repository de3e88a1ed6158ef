import { RENOGY_DEVICES, type SoakRig } from './rig.js';
import type { BluezSimulator } from '../../src/drivers/shared/bluez/simulator/simulator.js';
import { describePlanned, type FaultKind, type PlannedFault } from './schedule.js';
import { errorText } from '../../src/errorText.js';

// Injecting one planned fault and undoing it. Each returns a record of what was done and when: the
// moment the fault ended (the soak undid it) and which devices it hit, from which the report computes
// the recovery time. ble_stuck is the exception: the soak does not undo it, the gateway's watchdog must
// (a power cycle clears a stuck scan), so its recovery counts from the injection.

export interface FaultRecord {
  kind: FaultKind;
  detail: string;
  /** Absolute ms. */
  start: number;
  /** When the fault was over: undone by the soak, or (ble_stuck) repaired by the gateway. */
  end: number;
  /** Recovery is measured from here: `end`, or the injection for faults the gateway must repair. */
  measureFrom: number;
  /** Devices the fault hit (those that were reading when it started). */
  affected: string[];
  /** The gateway or the broker was down: excluded from the online time. */
  outage: boolean;
  /** The soak had to undo a fault the gateway should have repaired. */
  clearedBySoak: boolean;
  /** Problems injecting or undoing it (not the gateway's). */
  problems: string[];
}

/** How long the soak waits for the gateway to repair a stuck scan before clearing it itself. */
export const STUCK_REPAIR_LIMIT_MS = 120_000;

type Sleep = (ms: number) => Promise<void>;

let transactions = 0;

/** A bridge request from the soak; resolves with the error, or undefined when it was done. */
async function request(rig: SoakRig, name: string, payload: Record<string, unknown>, sleep: Sleep) {
  const transaction = `soak-${++transactions}`;
  const topic = `${rig.base}/bridge/response/${name}`;
  await rig.recorder.publish(
    `${rig.base}/bridge/request/${name}`,
    JSON.stringify({ ...payload, transaction }),
  );
  for (let waited = 0; waited < 15_000; waited += 100) {
    const answer = rig.recorder.responses.find((r) => r.topic === topic && r.transaction === transaction);
    if (answer) return answer.status === 'ok' ? undefined : (answer.error ?? 'error without a message');
    await sleep(100);
  }
  return `no answer to ${name} ${JSON.stringify(payload)} within 15 s`;
}

/** Devices of a driver that read within the last minute: the ones a fault on that driver can take down. */
function readingDevices(rig: SoakRig, driver: string): string[] {
  const recent = Date.now() - 60_000;
  return rig.recorder.devicesOf(driver).filter((id) => (rig.recorder.last(id)?.at ?? 0) >= recent);
}

function allReading(rig: SoakRig): string[] {
  const recent = Date.now() - 60_000;
  return rig.recorder.readingDevices().filter((id) => (rig.recorder.last(id)?.at ?? 0) >= recent);
}

async function attempt(problems: string[], what: string, work: () => Promise<unknown> | unknown) {
  try {
    await work();
  } catch (error) {
    problems.push(`${what}: ${errorText(error)}`);
  }
}

export async function runFault(fault: PlannedFault, rig: SoakRig, sleep: Sleep): Promise<FaultRecord> {
  const problems: string[] = [];
  const record = (start: number, affected: string[], extra: Partial<FaultRecord> = {}): FaultRecord => {
    const end = Date.now();
    return {
      kind: fault.kind,
      detail: describePlanned(fault),
      start,
      end,
      measureFrom: end,
      affected,
      outage: false,
      clearedBySoak: false,
      problems,
      ...extra,
    };
  };
  const hold = () => sleep(fault.durationMs);
  const start = Date.now();
  rig.log(`fault: ${describePlanned(fault)}`);
  switch (fault.kind) {
    case 'broker_kill': {
      const affected = allReading(rig);
      await rig.gate.close();
      // Let mosquitto hand what it has already acknowledged to the recorder (see gate.ts): with the
      // gateway cut off nothing new comes in, so the recorder going quiet means mosquitto is done.
      const closedAt = Date.now();
      while (
        Date.now() - Math.max(closedAt, rig.recorder.lastMessageAt) < 300 &&
        Date.now() - closedAt < 5_000
      ) {
        await sleep(50);
      }
      await rig.broker.kill();
      await hold();
      await rig.broker.restart();
      const end = Date.now();
      if (!(await rig.recorder.whenSubscribed(15_000)))
        problems.push('the recorder did not resubscribe within 15 s');
      await rig.gate.open();
      return { ...record(start, affected, { outage: true }), end, measureFrom: end };
    }
    case 'gateway_kill': {
      const affected = allReading(rig);
      await rig.gateway.kill('SIGKILL');
      await hold();
      rig.gateway.start();
      return record(start, affected, { outage: true });
    }
    case 'mbus_unplug':
      await attempt(problems, 'unplug', () => rig.mbus.unplug());
      await hold();
      await attempt(problems, 'replug', () => rig.mbus.replug());
      return record(start, readingDevices(rig, 'mbus'));
    case 'meter_dead': {
      const address = fault.target ?? 1;
      const id = `mbus_${rig.mbus.meter(address).spec.id}`;
      const affected = rig.recorder.readings.has(id) ? [id] : readingDevices(rig, 'mbus');
      rig.mbus.setMeterAlive(address, false);
      await hold();
      rig.mbus.setMeterAlive(address, true);
      return record(start, affected);
    }
    case 'mbus_corrupt':
      rig.mbus.setFaults({ corrupt: 0.3 });
      await hold();
      rig.mbus.setFaults({ corrupt: 0 });
      return record(start, readingDevices(rig, 'mbus'));
    case 'dali_unplug': {
      const affected = readingDevices(rig, 'dali');
      const unplugged = await request(rig, 'simulation/fault', { driver: 'dali', fault: 'unplug' }, sleep);
      if (unplugged) problems.push(`unplug: ${unplugged}`);
      await hold();
      // A replug that got lost (the request is answered by the gateway) is tried again: the lamps must
      // not stay unplugged for the rest of the soak because of the test.
      for (let tries = 0; tries < 3; tries++) {
        const replugged = await request(rig, 'simulation/fault', { driver: 'dali', fault: 'replug' }, sleep);
        if (replugged === undefined || /plugged in; unplug it first/.test(replugged)) break;
        problems.push(`replug: ${replugged}`);
      }
      return record(start, affected);
    }
    case 'dali_power_cut': {
      const affected = readingDevices(rig, 'dali');
      const payload = { driver: 'dali', fault: 'power_cut', duration_ms: fault.durationMs };
      const cut = await request(
        rig,
        'simulation/fault',
        fault.target === undefined ? payload : { ...payload, address: fault.target },
        sleep,
      );
      if (cut) problems.push(`power_cut: ${cut}`);
      // The gateway's simulated mains come back by themselves after duration_ms.
      await hold();
      return record(start, affected);
    }
    default:
      return runBleFault(fault, rig, sleep, start, problems, record);
  }
}

async function runBleFault(
  fault: PlannedFault,
  rig: SoakRig,
  sleep: Sleep,
  start: number,
  problems: string[],
  record: (start: number, affected: string[], extra?: Partial<FaultRecord>) => FaultRecord,
): Promise<FaultRecord> {
  const bluez = rig.bluez;
  if (!bluez) throw new Error(`${fault.kind} planned without the BLE simulator`);
  const affected = readingDevices(rig, 'ble');
  const hold = () => sleep(fault.durationMs);
  switch (fault.kind) {
    case 'ble_hang':
      // bluetoothd wedged: every method call goes unanswered (signals, i.e. advertisements, still flow).
      await attempt(problems, 'hang', () => bluez.hang('*'));
      await hold();
      await attempt(problems, 'unhang', () => bluez.unhang());
      return record(start, affected);
    case 'ble_adapter_removed':
      await attempt(problems, 'remove adapter', () => bluez.removeAdapter());
      await hold();
      await attempt(problems, 'add adapter', () => bluez.addAdapter());
      return record(start, affected);
    case 'bluez_restart':
      await attempt(problems, 'restart', () => bluez.restart(fault.durationMs));
      return record(start, affected);
    case 'ble_stuck': {
      await attempt(problems, 'stuck', () => bluez.setStuck(true));
      const deadline = start + STUCK_REPAIR_LIMIT_MS;
      while (bluez.faults.stuck && Date.now() < deadline) await sleep(200);
      const clearedBySoak = bluez.faults.stuck;
      if (clearedBySoak) bluez.setStuck(false);
      return record(start, affected, { measureFrom: start, clearedBySoak });
    }
    default: {
      const renogy = readingDevices(rig, 'renogy');
      await runRenogyFault(fault, bluez, sleep);
      return record(start, renogy);
    }
  }
}

/**
 * A fault of the connected Renogy devices, on every one of them (their recovery is measured as the
 * others': from the end of the fault to their next reading).
 */
async function runRenogyFault(fault: PlannedFault, bluez: BluezSimulator, sleep: Sleep): Promise<void> {
  const devices = bluez.gattDevices.filter((device) =>
    RENOGY_DEVICES.some(({ mac }) => mac === device.spec.mac),
  );
  const hold = () => sleep(fault.durationMs);
  switch (fault.kind) {
    case 'renogy_connect_abort':
      // Every connect for the while is aborted (le-connection-abort-by-local).
      for (const device of devices) device.faults.failConnects('abort', 1_000);
      await hold();
      for (const device of devices) device.faults.clear();
      return;
    case 'renogy_garbage': {
      // Every answer garbled (bad CRC) for the while.
      const flip = (bytes: Uint8Array) => bytes.map((b, i) => (i === bytes.length - 1 ? b ^ 0xff : b));
      for (const device of devices) for (let i = 0; i < 1_000; i++) device.faults.garbleNext(flip);
      await hold();
      for (const device of devices) device.faults.clear();
      return;
    }
    case 'renogy_taken':
      for (const device of devices) device.faults.setTakenByOtherCentral(true);
      await hold();
      for (const device of devices) device.faults.setTakenByOtherCentral(false);
      return;
    case 'renogy_services_missing':
      // A stale GATT cache; in BlueZ remove_device cures it, here the soak clears it after the while.
      for (const device of devices) device.faults.servicesMissing = true;
      await hold();
      for (const device of devices) device.faults.servicesMissing = false;
      return;
    default:
      throw new Error(`no injector for ${fault.kind}`);
  }
}
