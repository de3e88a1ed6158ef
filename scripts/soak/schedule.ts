import { seededRandom } from '../../src/drivers/shared/random.js';

// The fault schedule, drawn from the seed before the soak starts, so a seed names one sequence of
// faults (which faults, in which order, how long each lasts, which meter or lamp). How many slots of it
// a run gets through depends on its length and on how fast the gateway recovers (the soak waits for
// recovery between slots), never on which faults came before.
//
// The schedule is made of rounds. Every round has one broker kill and one gateway SIGKILL ("infra"
// slots, alone: they take everything down) between "device" slots, in which one fault per driver runs
// at the same time (the drivers share nothing, so their faults do not mask each other) together with a
// burst of bad MQTT commands. Over a round every device fault kind comes up at least once.

export const MBUS_FAULTS = ['mbus_unplug', 'meter_dead', 'mbus_corrupt'] as const;
export const DALI_FAULTS = ['dali_unplug', 'dali_power_cut'] as const;
/**
 * The BLE faults include the Renogy devices' (connected BLE on the same fake BlueZ adapter): they share
 * the radio with the sensors, so they take the BLE slot rather than running beside its faults.
 */
export const BLE_FAULTS = [
  'ble_hang',
  'ble_stuck',
  'ble_adapter_removed',
  'bluez_restart',
  'renogy_connect_abort',
  'renogy_garbage',
  'renogy_taken',
  'renogy_services_missing',
] as const;
export const INFRA_FAULTS = ['broker_kill', 'gateway_kill'] as const;

export type MbusFault = (typeof MBUS_FAULTS)[number];
export type DaliFault = (typeof DALI_FAULTS)[number];
export type BleFault = (typeof BLE_FAULTS)[number];
export type InfraFault = (typeof INFRA_FAULTS)[number];
export type FaultKind = MbusFault | DaliFault | BleFault | InfraFault;
export const FAULT_KINDS: readonly FaultKind[] = [
  ...INFRA_FAULTS,
  ...MBUS_FAULTS,
  ...DALI_FAULTS,
  ...BLE_FAULTS,
];

/**
 * How long each fault lasts (ms, drawn uniformly). Long enough for the gateway to notice (a meter is
 * declared lost after several failed polls), short enough that a 2-minute run sees a round. ble_stuck
 * has none: it lasts until the gateway's watchdog repairs it (or the soak gives up and clears it).
 */
export const DURATION_MS: Readonly<Record<FaultKind, readonly [number, number]>> = {
  broker_kill: [3_000, 10_000],
  gateway_kill: [500, 5_000],
  mbus_unplug: [4_000, 15_000],
  meter_dead: [5_000, 20_000],
  mbus_corrupt: [8_000, 20_000],
  dali_unplug: [4_000, 15_000],
  dali_power_cut: [0, 8_000],
  ble_hang: [4_000, 15_000],
  ble_stuck: [0, 0],
  ble_adapter_removed: [4_000, 15_000],
  bluez_restart: [1_000, 5_000],
  renogy_connect_abort: [5_000, 15_000],
  renogy_garbage: [5_000, 15_000],
  renogy_taken: [5_000, 20_000],
  renogy_services_missing: [5_000, 15_000],
};

export interface PlannedFault {
  kind: FaultKind;
  durationMs: number;
  /** meter_dead: the meter's primary address; dali_power_cut: a lamp's short address or undefined (all). */
  target?: number;
}

export type Slot = { type: 'infra'; fault: PlannedFault } | { type: 'devices'; faults: PlannedFault[] };

export interface ScheduleOptions {
  seed: number;
  ble: boolean;
  /** Meter addresses on the M-Bus line and lamp addresses on the DALI bus. */
  meters: readonly number[];
  lamps: readonly number[];
}

function shuffle<T>(items: readonly T[], random: () => number): T[] {
  const copy = [...items];
  for (let i = copy.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [copy[i], copy[j]] = [copy[j] as T, copy[i] as T];
  }
  return copy;
}

function pick<T>(items: readonly T[], random: () => number): T {
  return items[Math.floor(random() * items.length)] as T;
}

function planned(kind: FaultKind, random: () => number, options: ScheduleOptions): PlannedFault {
  const [min, max] = DURATION_MS[kind];
  const fault: PlannedFault = { kind, durationMs: Math.round(min + random() * (max - min)) };
  if (kind === 'meter_dead') fault.target = pick(options.meters, random);
  // Half the power cuts take one lamp, half the whole bus.
  if (kind === 'dali_power_cut' && random() < 0.5) fault.target = pick(options.lamps, random);
  return fault;
}

/** `kinds` shuffled, then filled up to `length` with random repeats. */
function oneRound<T>(kinds: readonly T[], length: number, random: () => number): T[] {
  const round = shuffle(kinds, random);
  while (round.length < length) round.push(pick(kinds, random));
  return round;
}

/** The first `rounds` rounds of the seed's schedule (a soak stops when its time is up). */
export function planSchedule(options: ScheduleOptions, rounds = 50): Slot[] {
  const random = seededRandom(options.seed);
  const slots: Slot[] = [];
  const deviceSlots = options.ble ? BLE_FAULTS.length : MBUS_FAULTS.length;
  for (let round = 0; round < rounds; round++) {
    const infra = shuffle(INFRA_FAULTS, random);
    const mbus = oneRound(MBUS_FAULTS, deviceSlots, random);
    const dali = oneRound(DALI_FAULTS, deviceSlots, random);
    const ble = options.ble ? oneRound(BLE_FAULTS, deviceSlots, random) : [];
    for (let i = 0; i < deviceSlots; i++) {
      const kinds: FaultKind[] = [mbus[i] as MbusFault, dali[i] as DaliFault];
      if (options.ble) kinds.push(ble[i] as BleFault);
      slots.push({ type: 'devices', faults: kinds.map((kind) => planned(kind, random, options)) });
      // Device, infra, device, infra, device…: both infra faults come early in every round.
      const next = infra[i];
      if (next !== undefined) slots.push({ type: 'infra', fault: planned(next, random, options) });
    }
  }
  return slots;
}

export function describePlanned(fault: PlannedFault): string {
  const target =
    fault.target === undefined
      ? fault.kind === 'dali_power_cut'
        ? ' (all lamps)'
        : ''
      : fault.kind === 'meter_dead'
        ? ` (meter ${fault.target})`
        : ` (lamp ${fault.target})`;
  if (fault.kind === 'ble_stuck') return `${fault.kind} until the gateway repairs it`;
  return `${fault.kind}${target} for ${(fault.durationMs / 1000).toFixed(1)} s`;
}
