import { readHoldingRegisters, type ModbusResponse, type ReadRequest } from './modbus.js';
import { FAMILY_TABLES, type ModbusFamily } from './families.js';
import { decodeFields } from './values.js';

// Which Modbus id a device answers to (notes §2.3). Stand-alone devices answer 0xFF (and reply with
// 0xFF); several devices behind one BT-2 collide on 0xFF and need their own ids (daisy chain 0x10/0x11
// controllers, 0x21-0x23 batteries; Communication Hub 0x60/0x61 controllers, 0x30-0x37 batteries;
// inverters 0x20). The procedure: try the candidates in order with a read of the address register; the
// first that answers is the id to use, unless the address register names another valid id, which is
// then the device's real id (0xFF still works for a single device, but the address is what a hub needs).

export type Topology = 'standalone' | 'daisy_chain' | 'hub';

/** The ids to try for a device of `family` on `topology`, in order (0xFF first when stand-alone). */
export function candidateIds(family: ModbusFamily, topology: Topology): readonly number[] {
  const ids = FAMILY_TABLES[family].ids;
  if (topology === 'hub') return ids.hub;
  return topology === 'daisy_chain' ? ids.daisyChain : ids.standalone;
}

/** The read of the device's own address register, sent to `deviceId`. */
export function addressRequest(family: ModbusFamily, deviceId: number): ReadRequest {
  return readHoldingRegisters(deviceId, FAMILY_TABLES[family].address.register, 1);
}

/**
 * The id to use after `response` answered `addressRequest(family, askedId)`: the address the device
 * reports when it is a valid unit address (1-247), else the id that was asked (it answered, so it works).
 * Undefined when the device did not answer with registers (an exception: try the next candidate).
 */
export function idFromAddressResponse(
  family: ModbusFamily,
  askedId: number,
  response: ModbusResponse,
): number | undefined {
  if (response.kind !== 'read' || response.words.length !== 1) return undefined;
  const field = FAMILY_TABLES[family].address;
  const address = decodeFields([field], field.register, response.words).values[field.key];
  return typeof address === 'number' && address >= 1 && address <= 247 ? address : askedId;
}
