// The Renogy codec's public face (BT-1/BT-2 modules and built-in BLE: Modbus RTU over GATT). Pure
// functions over bytes; no I/O, no timers.
// - The runtime: the GATT pairs (WRITE_CHARACTERISTIC, NOTIFY_CHARACTERISTIC), guessFamily, readPlan
//   (reads in order with their pacing), candidateIds/addressRequest/idFromAddressResponse (which id),
//   encodeRequest, one ResponseAssembler per request (push each notification, expire on its timeout),
//   decodeReadResponse, loadSwitchRequest/loadStateFromEcho, ShuntAssembler for the Smart Shunt.
// - Home Assistant capabilities: familyValues (every value with unit and hints).
// - The simulator: RegisterImage (a virtual device answering request frames), encodeRegisters,
//   encodeReadResponse/encodeWriteEcho/encodeException, encodeShuntFrame, appAck.
// - The decode CLI: describeFrame/describeHex (../decode.ts is the hook).

export {
  ResponseAssembler,
  type AssemblyResult,
  type FrameProblem,
  type FrameProblemKind,
} from './assembler.js';
export { crc16Modbus, frameCrc, withCrc } from './crc.js';
export { addressRequest, candidateIds, idFromAddressResponse, type Topology } from './deviceIds.js';
export { describeFrame, describeHex, type DescribeOptions, type RenogyDescription } from './describe.js';
export { RenogyError, hexRegister, parseHex, type RenogyErrorCode } from './errors.js';
export {
  DEFAULT_SCALES,
  type Block,
  type Field,
  type FlagBit,
  type HaHints,
  type StateClass,
  type UncertainScales,
  type Unit,
} from './fields.js';
export * from './gatt.js';
export * from './modbus.js';
export {
  loadStateFromEcho,
  loadSwitchRequest,
  readPlan,
  type PlanOptions,
  type PlannedRead,
  type ReadPlan,
} from './plan.js';
export { decodeRead, decodeReadResponse, familyValues, type ValueDescription } from './readings.js';
export {
  encodeRegisters,
  ILLEGAL_DATA_ADDRESS,
  ILLEGAL_DATA_VALUE,
  RegisterImage,
  type RegisterImageOptions,
} from './registerImage.js';
export * from './shunt.js';
export { controllerFaults } from './controllerRegisters.js';
export {
  blocksFor,
  FAMILY_TABLES,
  familyFields,
  familyTable,
  isModbusFamily,
  MODBUS_FAMILIES,
  RENOGY_FAMILIES,
  type DeviceIds,
  type FamilyTable,
  type ModbusFamily,
  type Pacing,
  type RenogyFamily,
} from './families.js';
export type { DecodedValues, DecodeOptions, RenogyValue } from './values.js';
