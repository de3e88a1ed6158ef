import { fail } from './errors.js';
import type { Block } from './fields.js';
import {
  readHoldingRegisters,
  writeSingleRegister,
  type ReadRequest,
  type WriteEcho,
  type WriteRequest,
} from './modbus.js';
import { blocksFor, FAMILY_TABLES, type ModbusFamily, type Pacing } from './families.js';

// What one poll of a device sends, in order, derived from its family's table: the runtime walks the
// reads, pausing `pacing.requestGapMs` between them; an exception to an optional read skips it, any
// other failure ends the poll and the session (§3).

export interface PlannedRead {
  /** The block's name in the table (`dynamic`, `cells`). */
  readonly block: string;
  readonly request: ReadRequest;
  /** An exception answer means the device lacks it: skip, keep polling. */
  readonly optional: boolean;
  readonly cadence: Block['cadence'];
  /** How often the request is sent when no answer comes in time. */
  readonly attempts: number;
}

export interface ReadPlan {
  readonly family: ModbusFamily;
  readonly reads: readonly PlannedRead[];
  readonly pacing: Pacing;
}

export interface PlanOptions {
  /** The model read earlier (a DC-DC charger's -G6 reads otherwise). */
  readonly model?: string;
  /** Include the `once` reads (model, address, settings): on the first poll of a connection. Default true. */
  readonly includeOnce?: boolean;
}

export function readPlan(family: ModbusFamily, deviceId: number, options: PlanOptions = {}): ReadPlan {
  const includeOnce = options.includeOnce ?? true;
  const reads = blocksFor(family, options.model)
    .filter((entry) => includeOnce || entry.cadence === 'every_poll')
    .map((entry) => ({
      block: entry.name,
      request: readHoldingRegisters(deviceId, entry.register, entry.words),
      optional: entry.optional,
      cadence: entry.cadence,
      attempts: entry.attempts,
    }));
  return { family, reads, pacing: FAMILY_TABLES[family].pacing };
}

/** The write that switches a controller's load output (§4.2: 1 on, 0 off to 0x010A). */
export function loadSwitchRequest(family: ModbusFamily, deviceId: number, on: boolean): WriteRequest {
  const load =
    FAMILY_TABLES[family].loadSwitch ?? fail('bad_argument', `a ${family} has no load output to switch`);
  return writeSingleRegister(deviceId, load.register, on ? load.on : load.off);
}

/**
 * The load state a write's echo confirms (renogy-bt reads the value byte). The assembler has already
 * checked that the echo is of this very write; the state the device reports comes from the next read of
 * 0x0120 (`load_on`), which the runtime should publish rather than the command.
 */
export function loadStateFromEcho(family: ModbusFamily, echo: WriteEcho): boolean {
  const load =
    FAMILY_TABLES[family].loadSwitch ?? fail('bad_argument', `a ${family} has no load output to switch`);
  if (echo.register !== load.register)
    fail('bad_argument', `echo of register ${echo.register}, not the load's`);
  if (echo.value !== load.on && echo.value !== load.off)
    fail('bad_argument', `load value ${echo.value} is neither on nor off`);
  return echo.value === load.on;
}
