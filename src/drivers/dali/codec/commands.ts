// The DALI control gear command set (IEC 62386-102 edition 2, "DALI-2"), as tables: one place says which
// opcode is which command, which ones answer (the adapter must wait for a backward frame) and which are
// configuration commands that gear only acts on when received twice within 100 ms (the adapter must send
// them twice). Names are the standard's edition 2 names, as python-dali uses them; edition 1 called the
// SET … (DTR0) commands "STORE THE DTR AS …" and DTR0 "DATA TRANSFER REGISTER".

export interface CommandSpec {
  readonly name: string;
  /** The gear answers with a backward frame (or stays silent for NO). */
  readonly isQuery: boolean;
  /** A configuration command: only acted on when the same frame arrives twice within 100 ms. */
  readonly sendTwice: boolean;
}

/** Addressed commands (second byte of a frame whose address byte has S = 1) that stand alone. */
export const GEAR_OPCODES = {
  OFF: 0x00,
  UP: 0x01,
  DOWN: 0x02,
  'STEP UP': 0x03,
  'STEP DOWN': 0x04,
  'RECALL MAX LEVEL': 0x05,
  'RECALL MIN LEVEL': 0x06,
  'STEP DOWN AND OFF': 0x07,
  'ON AND STEP UP': 0x08,
  'ENABLE DAPC SEQUENCE': 0x09,
  'GO TO LAST ACTIVE LEVEL': 0x0a,
  RESET: 0x20,
  'STORE ACTUAL LEVEL IN DTR0': 0x21,
  'SAVE PERSISTENT VARIABLES': 0x22,
  'SET OPERATING MODE': 0x23,
  'RESET MEMORY BANK': 0x24,
  'IDENTIFY DEVICE': 0x25,
  'SET MAX LEVEL': 0x2a,
  'SET MIN LEVEL': 0x2b,
  'SET SYSTEM FAILURE LEVEL': 0x2c,
  'SET POWER ON LEVEL': 0x2d,
  'SET FADE TIME': 0x2e,
  'SET FADE RATE': 0x2f,
  'SET EXTENDED FADE TIME': 0x30,
  'SET SHORT ADDRESS': 0x80,
  'ENABLE WRITE MEMORY': 0x81,
  'QUERY STATUS': 0x90,
  'QUERY CONTROL GEAR PRESENT': 0x91,
  'QUERY LAMP FAILURE': 0x92,
  'QUERY LAMP POWER ON': 0x93,
  'QUERY LIMIT ERROR': 0x94,
  'QUERY RESET STATE': 0x95,
  'QUERY MISSING SHORT ADDRESS': 0x96,
  'QUERY VERSION NUMBER': 0x97,
  'QUERY CONTENT DTR0': 0x98,
  'QUERY DEVICE TYPE': 0x99,
  'QUERY PHYSICAL MINIMUM': 0x9a,
  'QUERY POWER FAILURE': 0x9b,
  'QUERY CONTENT DTR1': 0x9c,
  'QUERY CONTENT DTR2': 0x9d,
  'QUERY OPERATING MODE': 0x9e,
  'QUERY LIGHT SOURCE TYPE': 0x9f,
  'QUERY ACTUAL LEVEL': 0xa0,
  'QUERY MAX LEVEL': 0xa1,
  'QUERY MIN LEVEL': 0xa2,
  'QUERY POWER ON LEVEL': 0xa3,
  'QUERY SYSTEM FAILURE LEVEL': 0xa4,
  'QUERY FADE TIME/FADE RATE': 0xa5,
  'QUERY MANUFACTURER SPECIFIC MODE': 0xa6,
  'QUERY NEXT DEVICE TYPE': 0xa7,
  'QUERY EXTENDED FADE TIME': 0xa8,
  'QUERY CONTROL GEAR FAILURE': 0xaa,
  'QUERY GROUPS 0-7': 0xc0,
  'QUERY GROUPS 8-15': 0xc1,
  'QUERY RANDOM ADDRESS (H)': 0xc2,
  'QUERY RANDOM ADDRESS (M)': 0xc3,
  'QUERY RANDOM ADDRESS (L)': 0xc4,
  'READ MEMORY LOCATION': 0xc5,
} as const;

/** Addressed commands that come in families of 16: the low nibble is the scene or group number. */
export const INDEXED_GEAR_OPCODES = {
  'GO TO SCENE': 0x10,
  'SET SCENE': 0x40,
  'REMOVE FROM SCENE': 0x50,
  'ADD TO GROUP': 0x60,
  'REMOVE FROM GROUP': 0x70,
  'QUERY SCENE LEVEL': 0xb0,
} as const;

/** Special commands: the first byte is the command (101xxxx1 or 110xxxx1), the second its data. */
export const SPECIAL_OPCODES = {
  TERMINATE: 0xa1,
  DTR0: 0xa3,
  INITIALISE: 0xa5,
  RANDOMISE: 0xa7,
  COMPARE: 0xa9,
  WITHDRAW: 0xab,
  PING: 0xad,
  SEARCHADDRH: 0xb1,
  SEARCHADDRM: 0xb3,
  SEARCHADDRL: 0xb5,
  'PROGRAM SHORT ADDRESS': 0xb7,
  'VERIFY SHORT ADDRESS': 0xb9,
  'QUERY SHORT ADDRESS': 0xbb,
  'ENABLE DEVICE TYPE': 0xc1,
  DTR1: 0xc3,
  DTR2: 0xc5,
  'WRITE MEMORY LOCATION': 0xc7,
  'WRITE MEMORY LOCATION - NO REPLY': 0xc9,
} as const;

export type SimpleGearCommand = keyof typeof GEAR_OPCODES;
export type IndexedGearCommand = keyof typeof INDEXED_GEAR_OPCODES;
export type GearCommandName = SimpleGearCommand | IndexedGearCommand;
export type SpecialCommandName = keyof typeof SPECIAL_OPCODES;

/** Opcodes 20-81 (RESET … ENABLE WRITE MEMORY) are the configuration commands: all sent twice. */
function isConfigurationOpcode(opcode: number): boolean {
  return opcode >= 0x20 && opcode <= 0x81;
}

/** Opcodes 90-C5 are queries; so is everything in that range the table does not name. */
function isQueryOpcode(opcode: number): boolean {
  return opcode >= 0x90 && opcode <= 0xc5;
}

export interface GearOpcodeInfo extends CommandSpec {
  /** The scene or group number of an indexed command. */
  readonly index?: number;
  /** False for reserved and device-type-specific (application extended) opcodes. */
  readonly known: boolean;
}

const BY_OPCODE = new Map<number, GearOpcodeInfo>();
for (const [name, opcode] of Object.entries(GEAR_OPCODES)) {
  BY_OPCODE.set(opcode, {
    name,
    isQuery: isQueryOpcode(opcode),
    sendTwice: isConfigurationOpcode(opcode),
    known: true,
  });
}
for (const [name, base] of Object.entries(INDEXED_GEAR_OPCODES)) {
  for (let index = 0; index < 16; index++) {
    const opcode = base + index;
    BY_OPCODE.set(opcode, {
      name,
      index,
      isQuery: isQueryOpcode(opcode),
      sendTwice: isConfigurationOpcode(opcode),
      known: true,
    });
  }
}

/** What an addressed command's opcode means; reserved opcodes are named, not refused (gear ignores them). */
export function gearOpcodeInfo(opcode: number): GearOpcodeInfo {
  const known = BY_OPCODE.get(opcode);
  if (known) return known;
  const hex = opcode.toString(16).toUpperCase().padStart(2, '0');
  // E0-FF mean different things per device type (DT6 LED, DT8 colour…), announced by ENABLE DEVICE TYPE.
  const name = opcode >= 0xe0 ? `APPLICATION EXTENDED COMMAND ${hex}` : `RESERVED ${hex}`;
  return { name, isQuery: isQueryOpcode(opcode), sendTwice: isConfigurationOpcode(opcode), known: false };
}

const SPECIAL_BY_BYTE = new Map<number, SpecialCommandName>(
  Object.entries(SPECIAL_OPCODES).map(([name, byte]) => [byte, name as SpecialCommandName]),
);

/** The special command whose first byte this is, or undefined for any other address byte. */
export function specialCommandName(firstByte: number): SpecialCommandName | undefined {
  return SPECIAL_BY_BYTE.get(firstByte);
}

export function specialCommandSpec(name: SpecialCommandName): CommandSpec {
  return {
    name,
    isQuery:
      name === 'COMPARE' ||
      name === 'VERIFY SHORT ADDRESS' ||
      name === 'QUERY SHORT ADDRESS' ||
      name === 'WRITE MEMORY LOCATION',
    // INITIALISE and RANDOMISE change every listening gear's state, so they too must arrive twice.
    sendTwice: name === 'INITIALISE' || name === 'RANDOMISE',
  };
}
