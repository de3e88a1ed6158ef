import type { FakeGattDevice } from './gattDevice.js';

// The control lines of the fake BlueZ's connectable devices, so a person or a soak can break a connected
// device mid-run as a test does: `gatt MAC FAULT [ARG]` (see GATT_HELP), `add-echo` for a generic echo
// device to try it on, and `reset-adapter`.

export const GATT_HELP = `  add-echo             a connectable echo device (what is written comes back as notifications)
  reset-adapter        the adapter resets: every link drops, its objects go and come back
  gatt MAC FAULT [ARG] a fault of a connectable device:
                         abort [N]        the next N Connects fail (le-connection-abort-by-local)
                         in-progress [N]  the next N Connects answer InProgress
                         hang | unhang    every Connect hangs (is never answered) / answers again
                         drop-piece [I]   the next notification loses its piece I (default 1)
                         garble           the next notification's last byte is flipped
                         late MS          every notification comes MS ms late (0: on time)
                         take | release   another central holds the device / lets it go
                         services-missing on|off   resolved, but no GATT objects
                         drop-link        the device drops the link
                         clear            no fault any more`;

export type GattFaultCommand =
  | { fault: 'abort' | 'in-progress'; count: number }
  | { fault: 'hang' | 'unhang' | 'garble' | 'take' | 'release' | 'drop-link' | 'clear' }
  | { fault: 'drop-piece'; piece: number }
  | { fault: 'late'; ms: number }
  | { fault: 'services-missing'; on: boolean };

export class GattControlError extends Error {
  override readonly name = 'GattControlError';
}

function whole(text: string | undefined, fallback: number, max: number, what: string): number {
  if (text === undefined) return fallback;
  const value = Number(text);
  if (!Number.isInteger(value) || value < 0 || value > max) {
    throw new GattControlError(`${what} must be a whole number from 0 to ${max}, got "${text}"`);
  }
  return value;
}

/** `FAULT [ARG]` after `gatt MAC`. */
export function parseGattFault(words: readonly string[]): GattFaultCommand {
  const [name = '', argument, extra] = words;
  if (extra !== undefined) throw new GattControlError(`gatt: one argument at most after ${name}`);
  switch (name.toLowerCase()) {
    case 'abort':
    case 'in-progress':
      return { fault: name.toLowerCase() as 'abort' | 'in-progress', count: whole(argument, 1, 1000, 'N') };
    case 'hang':
    case 'unhang':
    case 'garble':
    case 'take':
    case 'release':
    case 'drop-link':
    case 'clear':
      if (argument !== undefined) throw new GattControlError(`gatt: ${name} takes no argument`);
      return { fault: name.toLowerCase() as 'hang' };
    case 'drop-piece':
      return { fault: 'drop-piece', piece: whole(argument, 1, 1000, 'I') };
    case 'late':
      return { fault: 'late', ms: whole(argument, 0, 600_000, 'MS') };
    case 'services-missing':
      if (argument !== 'on' && argument !== 'off')
        throw new GattControlError('usage: services-missing on|off');
      return { fault: 'services-missing', on: argument === 'on' };
    default:
      throw new GattControlError(`gatt: unknown fault "${name}" (try "help")`);
  }
}

/** Applies a fault to a device; returns what happened, for the control's answer. */
export function applyGattFault(device: FakeGattDevice, command: GattFaultCommand): string {
  const faults = device.faults;
  const mac = device.spec.mac;
  switch (command.fault) {
    case 'abort':
      faults.failConnects('abort', command.count);
      return `${mac}: the next ${command.count} Connect(s) abort`;
    case 'in-progress':
      faults.failConnects('in_progress', command.count);
      return `${mac}: the next ${command.count} Connect(s) answer InProgress`;
    case 'hang':
    case 'unhang':
      faults.hangConnects = command.fault === 'hang';
      return `${mac}: Connect ${faults.hangConnects ? 'hangs' : 'answers'}`;
    case 'garble':
      faults.garbleNext((bytes) => bytes.map((b, i) => (i === bytes.length - 1 ? b ^ 0xff : b)));
      return `${mac}: the next notification is garbled`;
    case 'take':
    case 'release':
      faults.setTakenByOtherCentral(command.fault === 'take');
      return `${mac}: ${command.fault === 'take' ? 'taken by' : 'released by'} another central`;
    case 'drop-link':
      device.dropLink('dropped by the control');
      return `${mac}: link dropped`;
    case 'clear':
      faults.clear();
      return `${mac}: no fault`;
    case 'drop-piece':
      faults.dropPiece(command.piece);
      return `${mac}: the next notification loses piece ${command.piece}`;
    case 'late':
      faults.lateMs = command.ms;
      return `${mac}: notifications ${command.ms} ms late`;
    case 'services-missing':
      faults.servicesMissing = command.on;
      return `${mac}: services ${command.on ? 'missing' : 'back'} at the next resolution`;
  }
}
