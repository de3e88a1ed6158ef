import { type BluezFaults, describeFaults } from './faults.js';
import type { FakeGattDevice } from './gattDevice.js';
import { applyGattFault, GATT_HELP, type GattFaultCommand, parseGattFault } from './gattControl.js';
import { SENSOR_KINDS, type SensorKind } from './sensors.js';

// The run-time control language of `fieldbridge simulate bluez`: one command per line on stdin, so a
// person (or a test piping into the simulator) can wedge bluetoothd or pull the adapter mid-run.

export type ControlCommand =
  | { kind: 'hang'; method: string }
  | { kind: 'unhang'; method: string | undefined }
  | { kind: 'stuck'; stuck: boolean }
  | { kind: 'power'; on: boolean }
  | { kind: 'remove-adapter' }
  | { kind: 'add-adapter' }
  | { kind: 'restart'; delayMs: number | undefined }
  | { kind: 'add-sensor'; sensor: SensorKind; encrypted: boolean }
  | { kind: 'add-echo' }
  | { kind: 'reset-adapter' }
  | { kind: 'gatt'; mac: string; fault: GattFaultCommand }
  | { kind: 'status' }
  | { kind: 'help' };

export const CONTROL_HELP = `Commands (one per line):
  hang METHOD          never answer calls of METHOD: StartDiscovery, StopDiscovery, SetDiscoveryFilter,
                       RemoveDevice, Get, Set, GetAll, GetManagedObjects, Introspect, Connect,
                       Disconnect, StartNotify, StopNotify, WriteValue, ReadValue, or * for all;
                       Interface.Method (Properties.Get) and Set(Powered) narrow it down
  unhang [METHOD]      answer again (calls already hung stay unanswered)
  stuck                Discovering stays true but no advertisements (a power cycle clears it)
  unstuck              advertisements flow again
  poweroff             the adapter powers off (Powered and Discovering false), as after rfkill
  poweron              the adapter powers on again
  remove-adapter       hci0 disappears (InterfacesRemoved), as when the USB dongle is pulled
  add-adapter          hci0 comes back, powered, not discovering (InterfacesAdded)
  restart [MS]         bluetoothd restarts: org.bluez is gone for MS (default 1000) ms, then fresh objects
  add-sensor KIND      a new sensor (bthome, bthome-encrypted, ruuvi, pvvx), seen at its next advertisement
${GATT_HELP}
  status               adapter, faults, sensors and call counts
  help                 this list`;

export class ControlError extends Error {
  override readonly name = 'ControlError';
}

function expectArguments(words: readonly string[], min: number, max: number, usage: string): void {
  if (words.length < min + 1 || words.length > max + 1) throw new ControlError(`usage: ${usage}`);
}

/** Parses one line; undefined for a blank line or a comment, ControlError with the problem otherwise. */
export function parseControlCommand(line: string): ControlCommand | undefined {
  const words = line
    .trim()
    .split(/\s+/)
    .filter((word) => word !== '');
  const [name, first] = words;
  if (name === undefined || name.startsWith('#')) return undefined;
  switch (name.toLowerCase()) {
    case 'hang':
      expectArguments(words, 1, 1, 'hang METHOD');
      return { kind: 'hang', method: first ?? '' };
    case 'unhang':
      expectArguments(words, 0, 1, 'unhang [METHOD]');
      return { kind: 'unhang', method: first };
    case 'stuck':
    case 'unstuck':
      expectArguments(words, 0, 0, name);
      return { kind: 'stuck', stuck: name.toLowerCase() === 'stuck' };
    case 'poweroff':
    case 'poweron':
      expectArguments(words, 0, 0, name);
      return { kind: 'power', on: name.toLowerCase() === 'poweron' };
    case 'remove-adapter':
    case 'add-adapter':
      expectArguments(words, 0, 0, name);
      return { kind: name.toLowerCase() as 'remove-adapter' | 'add-adapter' };
    case 'restart': {
      expectArguments(words, 0, 1, 'restart [MS]');
      if (first === undefined) return { kind: 'restart', delayMs: undefined };
      const delayMs = Number(first);
      if (!Number.isInteger(delayMs) || delayMs < 0 || delayMs > 600_000) {
        throw new ControlError(`restart: MS must be a whole number from 0 to 600000, got "${first}"`);
      }
      return { kind: 'restart', delayMs };
    }
    case 'add-sensor': {
      expectArguments(words, 1, 1, 'add-sensor bthome|bthome-encrypted|ruuvi|pvvx');
      const kind = (first ?? '').toLowerCase();
      if (kind === 'bthome-encrypted') return { kind: 'add-sensor', sensor: 'bthome', encrypted: true };
      if (!(SENSOR_KINDS as readonly string[]).includes(kind)) {
        throw new ControlError(
          `add-sensor: unknown kind "${first ?? ''}" (bthome, bthome-encrypted, ruuvi, pvvx)`,
        );
      }
      return { kind: 'add-sensor', sensor: kind as SensorKind, encrypted: false };
    }
    case 'add-echo':
    case 'reset-adapter':
    case 'status':
    case 'help':
      expectArguments(words, 0, 0, name);
      return { kind: name.toLowerCase() as 'add-echo' | 'reset-adapter' | 'status' | 'help' };
    case 'gatt': {
      if (words.length < 3) throw new ControlError('usage: gatt MAC FAULT [ARG] (try "help")');
      const mac = (first ?? '').toUpperCase();
      if (!/^[0-9A-F]{2}(:[0-9A-F]{2}){5}$/.test(mac)) {
        throw new ControlError(`gatt: "${first ?? ''}" is not a Bluetooth address (AA:BB:CC:DD:EE:FF)`);
      }
      return { kind: 'gatt', mac, fault: parseGattFault(words.slice(2)) };
    }
    default:
      throw new ControlError(`unknown command "${name}" (try "help")`);
  }
}

/** What a control command acts on (the BluezSimulator). */
export interface ControlTarget {
  readonly faults: BluezFaults;
  hang(method: string): string;
  unhang(method?: string): void;
  setStuck(stuck: boolean): void;
  powerOn(): void;
  powerOff(): void;
  removeAdapter(): void;
  addAdapter(): void;
  restart(delayMs?: number): Promise<void>;
  addSensor(kind: SensorKind, options: { encrypted?: boolean }): { spec: { mac: string } };
  status(): string[];
  readonly gattDevices: readonly FakeGattDevice[];
  addEchoDevice(): FakeGattDevice;
  resetAdapter(): void;
}

/** Runs one command; `log`: the answer still wants a log line (the others logged what they did). */
export async function runControlCommand(
  target: ControlTarget,
  command: ControlCommand,
): Promise<{ answer: string; log: boolean }> {
  const quiet = (answer: string) => ({ answer, log: false });
  switch (command.kind) {
    case 'hang':
      return quiet(`hanging ${target.hang(command.method)}`);
    case 'unhang':
      target.unhang(command.method);
      return quiet(`faults: ${describeFaults(target.faults)}`);
    case 'stuck':
      target.setStuck(command.stuck);
      return quiet(`faults: ${describeFaults(target.faults)}`);
    case 'power':
      if (command.on) target.powerOn();
      else target.powerOff();
      return quiet(`powered ${command.on ? 'on' : 'off'}`);
    case 'remove-adapter':
      target.removeAdapter();
      return quiet('adapter removed');
    case 'add-adapter':
      target.addAdapter();
      return quiet('adapter added');
    case 'restart':
      await target.restart(command.delayMs);
      return quiet('restarted');
    case 'add-sensor':
      return quiet(
        `sensor ${target.addSensor(command.sensor, { encrypted: command.encrypted }).spec.mac} added`,
      );
    case 'add-echo':
      return { answer: `echo device ${target.addEchoDevice().spec.mac} added`, log: true };
    case 'reset-adapter':
      target.resetAdapter();
      return { answer: 'adapter reset', log: true };
    case 'gatt': {
      const device = target.gattDevices.find((known) => known.spec.mac === command.mac);
      if (device === undefined)
        throw new ControlError(`gatt: no connectable device ${command.mac} (add-echo)`);
      return { answer: applyGattFault(device, command.fault), log: true };
    }
    case 'status':
      return { answer: target.status().join('\n'), log: true };
    case 'help':
      return { answer: CONTROL_HELP, log: true };
  }
}
