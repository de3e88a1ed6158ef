import {
  type CommandSpec,
  GEAR_OPCODES,
  gearOpcodeInfo,
  INDEXED_GEAR_OPCODES,
  type IndexedGearCommand,
  type SimpleGearCommand,
  SPECIAL_OPCODES,
  type SpecialCommandName,
  specialCommandName,
  specialCommandSpec,
} from './commands.js';
import { checkRange, fail, formatHex, hexByte } from './errors.js';

// DALI forward frames (IEC 62386-102): 16 bits, an address byte then a data byte. The address byte's
// top bits say who listens, its lowest bit S what the second byte is:
//
//   0AAAAAAS  short address 0-63
//   100GGGGS  group 0-15
//   1111111S  broadcast
//   1111110S  broadcast to gear without a short address (DALI-2)
//   S = 0: the second byte is a level (DAPC, direct arc power control); S = 1: it is a command opcode.
//   101xxxx1, 110xxxx1: special commands (TERMINATE, DTR0, INITIALISE…), second byte is their data.
//
// Pure functions over Buffers; the bus runtime builds frames with them and the simulator decodes them,
// so there is one definition of what a frame means.

export type DaliAddress =
  | { kind: 'short'; address: number }
  | { kind: 'group'; group: number }
  | { kind: 'broadcast' }
  | { kind: 'broadcast_unaddressed' };

export const BROADCAST: DaliAddress = Object.freeze({ kind: 'broadcast' });
export const BROADCAST_UNADDRESSED: DaliAddress = Object.freeze({ kind: 'broadcast_unaddressed' });

export function shortAddress(address: number): DaliAddress {
  return { kind: 'short', address: checkRange(address, 0, 63, 'short address') };
}

export function groupAddress(group: number): DaliAddress {
  return { kind: 'group', group: checkRange(group, 0, 15, 'group') };
}

export function formatAddress(address: DaliAddress): string {
  switch (address.kind) {
    case 'short':
      return `short ${address.address}`;
    case 'group':
      return `group ${address.group}`;
    case 'broadcast':
      return 'broadcast';
    case 'broadcast_unaddressed':
      return 'broadcast unaddressed';
  }
}

/** The address byte; `command` sets S (the second byte is an opcode, not a level). */
export function encodeAddressByte(address: DaliAddress, command: boolean): number {
  const s = command ? 1 : 0;
  switch (address.kind) {
    case 'short':
      return (checkRange(address.address, 0, 63, 'short address') << 1) | s;
    case 'group':
      return 0x80 | (checkRange(address.group, 0, 15, 'group') << 1) | s;
    case 'broadcast':
      return 0xfe | s;
    case 'broadcast_unaddressed':
      return 0xfc | s;
  }
}

/** The address of an address byte, or undefined when the byte is a special command or reserved. */
export function decodeAddressByte(byte: number): { address: DaliAddress; command: boolean } | undefined {
  const command = (byte & 1) === 1;
  if ((byte & 0x80) === 0) return { address: { kind: 'short', address: byte >> 1 }, command };
  if ((byte & 0xe0) === 0x80) return { address: { kind: 'group', group: (byte >> 1) & 0x0f }, command };
  if ((byte & 0xfe) === 0xfe) return { address: BROADCAST, command };
  if ((byte & 0xfe) === 0xfc) return { address: BROADCAST_UNADDRESSED, command };
  return undefined;
}

/** One forward frame ready to send: its bytes and how the adapter must send it. */
export interface DaliCommand extends CommandSpec {
  /** The 2 bytes on the wire, address byte first. */
  readonly frame: Buffer;
}

function command(spec: CommandSpec, first: number, second: number): DaliCommand {
  return { ...spec, frame: Buffer.from([first, second]) };
}

/**
 * DAPC: go to `level` (0 off, 1-254, 255 = MASK: stop fading, keep the level). Gear clamps 1-254 to its
 * min/max level.
 */
export function dapc(address: DaliAddress, level: number): DaliCommand {
  checkRange(level, 0, 255, 'DAPC level');
  return command(
    { name: 'DAPC', isQuery: false, sendTwice: false },
    encodeAddressByte(address, false),
    level,
  );
}

/** An addressed command: `gearCommand(shortAddress(5), 'QUERY STATUS')`, `(…, 'GO TO SCENE', 2)`. */
export function gearCommand(address: DaliAddress, name: SimpleGearCommand): DaliCommand;
export function gearCommand(address: DaliAddress, name: IndexedGearCommand, index: number): DaliCommand;
export function gearCommand(
  address: DaliAddress,
  name: SimpleGearCommand | IndexedGearCommand,
  index?: number,
): DaliCommand {
  let opcode: number;
  if (name in INDEXED_GEAR_OPCODES) {
    const base = INDEXED_GEAR_OPCODES[name as IndexedGearCommand];
    const kind = name.includes('GROUP') ? 'group' : 'scene';
    if (index === undefined) fail('bad_argument', `${name} needs a ${kind} number (0-15)`);
    opcode = base + checkRange(index, 0, 15, `${name} ${kind}`);
  } else if (name in GEAR_OPCODES) {
    if (index !== undefined) fail('bad_argument', `${name} takes no scene or group number, got ${index}`);
    opcode = GEAR_OPCODES[name as SimpleGearCommand];
  } else {
    return fail('bad_argument', `unknown DALI command "${String(name)}"`);
  }
  const info = gearOpcodeInfo(opcode);
  return command(info, encodeAddressByte(address, true), opcode);
}

/** A special command with its data byte (0 when it has none). */
export function specialCommand(name: SpecialCommandName, data = 0): DaliCommand {
  if (!(name in SPECIAL_OPCODES)) fail('bad_argument', `unknown DALI special command "${String(name)}"`);
  return command(specialCommandSpec(name), SPECIAL_OPCODES[name], checkRange(data, 0, 255, `${name} data`));
}

export const terminate = (): DaliCommand => specialCommand('TERMINATE');
export const dtr0 = (value: number): DaliCommand => specialCommand('DTR0', value);
export const randomise = (): DaliCommand => specialCommand('RANDOMISE');

/**
 * INITIALISE: 'all' gear (data 00), only gear 'unaddressed' (without a short address, data FF), or the
 * gear with one short address (data 0AAAAAA1).
 */
export function initialise(target: 'all' | 'unaddressed' | number): DaliCommand {
  if (target === 'all') return specialCommand('INITIALISE', 0x00);
  if (target === 'unaddressed') return specialCommand('INITIALISE', 0xff);
  return specialCommand('INITIALISE', (checkRange(target, 0, 63, 'INITIALISE short address') << 1) | 1);
}

/** A forward frame as the bus runtime logs it and `fieldbridge decode dali` prints it. */
export type DecodedForwardFrame =
  | {
      kind: 'dapc';
      hex: string;
      name: 'DAPC';
      address: DaliAddress;
      level: number;
      isQuery: false;
      sendTwice: false;
    }
  | {
      kind: 'command';
      hex: string;
      name: string;
      address: DaliAddress;
      opcode: number;
      /** The scene or group of GO TO SCENE, ADD TO GROUP…; absent for the others. */
      index?: number;
      isQuery: boolean;
      sendTwice: boolean;
      /** False for reserved and device-type-specific opcodes. */
      known: boolean;
    }
  | {
      kind: 'special';
      hex: string;
      name: SpecialCommandName;
      data: number;
      isQuery: boolean;
      sendTwice: boolean;
    }
  /** An address byte no edition of the standard assigns: gear ignores the frame. */
  | { kind: 'reserved'; hex: string; name: string; isQuery: false; sendTwice: false };

export const FORWARD_FRAME_BYTES = 2;

export function decodeForwardFrame(bytes: Uint8Array): DecodedForwardFrame {
  if (bytes.length === 0) fail('empty', 'no bytes');
  if (bytes.length !== FORWARD_FRAME_BYTES) {
    fail(
      'bad_length',
      `a DALI forward frame is 2 bytes (address, data), got ${bytes.length}` +
        (bytes.length === 3 ? ' (24-bit frames for control devices are not supported)' : ''),
    );
  }
  const first = bytes[0] ?? 0;
  const second = bytes[1] ?? 0;
  const hex = formatHex(bytes);
  const target = decodeAddressByte(first);
  if (target && !target.command) {
    return {
      kind: 'dapc',
      hex,
      name: 'DAPC',
      address: target.address,
      level: second,
      isQuery: false,
      sendTwice: false,
    };
  }
  if (target) {
    const info = gearOpcodeInfo(second);
    return {
      kind: 'command',
      hex,
      name: info.name,
      address: target.address,
      opcode: second,
      ...(info.index === undefined ? {} : { index: info.index }),
      isQuery: info.isQuery,
      sendTwice: info.sendTwice,
      known: info.known,
    };
  }
  const special = specialCommandName(first);
  if (special) {
    const { isQuery, sendTwice } = specialCommandSpec(special);
    return { kind: 'special', hex, name: special, data: second, isQuery, sendTwice };
  }
  return {
    kind: 'reserved',
    hex,
    name: `RESERVED ADDRESS BYTE ${hexByte(first)}`,
    isQuery: false,
    sendTwice: false,
  };
}

/** One line for logs: "QUERY ACTUAL LEVEL to short 5", "DAPC 254 to group 3", "DTR0 55". */
export function describeForwardFrame(frame: DecodedForwardFrame): string {
  switch (frame.kind) {
    case 'dapc':
      return `DAPC ${frame.level} to ${formatAddress(frame.address)}`;
    case 'command':
      return `${frame.name}${frame.index === undefined ? '' : ` ${frame.index}`} to ${formatAddress(frame.address)}`;
    case 'special':
      return `${frame.name} ${hexByte(frame.data)}`;
    case 'reserved':
      return `${frame.name} (${frame.hex})`;
  }
}
