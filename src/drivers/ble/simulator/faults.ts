import type { IncomingCall } from './dbusService.js';

// How bluetoothd fails in the field, made switchable: method calls that are never answered (the classic
// wedged bluetoothd: StartDiscovery or Properties.Get just sits there), discovery that says it runs but
// delivers nothing, and (in simulator.ts) rfkill, a vanished adapter and a daemon restart.

export interface BluezFaults {
  /** Hang patterns (see HANG_METHODS): calls matching one are never answered. */
  hung: readonly string[];
  /** Discovering stays true but no advertisement arrives; a power cycle or a restart clears it. */
  stuck: boolean;
}

export const NO_FAULTS: BluezFaults = Object.freeze({ hung: Object.freeze([]), stuck: false });

/** Short interface name → full name, for patterns like `Properties.Get`. */
const INTERFACES: Readonly<Record<string, string>> = {
  Adapter1: 'org.bluez.Adapter1',
  Device1: 'org.bluez.Device1',
  GattCharacteristic1: 'org.bluez.GattCharacteristic1',
  Properties: 'org.freedesktop.DBus.Properties',
  ObjectManager: 'org.freedesktop.DBus.ObjectManager',
  Introspectable: 'org.freedesktop.DBus.Introspectable',
};

/** The methods the fake serves, by interface; `hang` accepts these (or `*` for every call). */
export const HANG_METHODS: Readonly<Record<string, readonly string[]>> = {
  Adapter1: ['StartDiscovery', 'StopDiscovery', 'SetDiscoveryFilter', 'RemoveDevice', 'GetDiscoveryFilters'],
  Device1: ['Connect', 'Disconnect'],
  GattCharacteristic1: ['StartNotify', 'StopNotify', 'WriteValue', 'ReadValue'],
  Properties: ['Get', 'Set', 'GetAll'],
  ObjectManager: ['GetManagedObjects'],
  Introspectable: ['Introspect'],
};

export class FaultError extends Error {
  override readonly name = 'FaultError';
}

/**
 * Checks and normalises a hang pattern: `*`, `Member`, `Interface.Member` (short or full interface
 * name), optionally with `(Property)` after Properties.Get/Set, e.g. `Set(Powered)`.
 */
export function parseHangPattern(text: string): string {
  const pattern = text.trim();
  if (pattern === '*' || pattern.toLowerCase() === 'all') return '*';
  const match = /^(?:(.+)\.)?([A-Za-z]+)(?:\(([A-Za-z]+)\))?$/.exec(pattern);
  const known = Object.entries(HANG_METHODS).flatMap(([iface, members]) =>
    members.map((m) => `${iface}.${m}`),
  );
  if (match === null) throw new FaultError(`cannot read hang pattern "${text}"`);
  const [, prefix, member = '', property] = match;
  const short =
    prefix === undefined
      ? undefined
      : Object.entries(INTERFACES).find(([s, full]) => prefix === s || prefix === full)?.[0];
  const candidates = Object.entries(HANG_METHODS).filter(
    ([iface, members]) => (prefix === undefined || iface === short) && members.includes(member),
  );
  if (candidates.length === 0) {
    throw new FaultError(`unknown method "${pattern}"; known: *, ${known.join(', ')}`);
  }
  if (property !== undefined && member !== 'Get' && member !== 'Set') {
    throw new FaultError(`"(${property})" only goes with Get or Set, as in Set(Powered)`);
  }
  const head = short === undefined ? member : `${short}.${member}`;
  return property === undefined ? head : `${head}(${property})`;
}

/** Whether a call matches a normalised pattern. */
export function hangMatches(pattern: string, call: IncomingCall): boolean {
  if (pattern === '*') return true;
  const match = /^(?:(\w+)\.)?(\w+)(?:\((\w+)\))?$/.exec(pattern);
  if (match === null) return false;
  const [, short, member, property] = match;
  if (member !== call.member) return false;
  if (short !== undefined && INTERFACES[short] !== call.interface) return false;
  return property === undefined || property === call.target;
}

/** The counter keys of one call: `Adapter1.StartDiscovery`, `Properties.Set(Powered)`. */
export function callKey(call: IncomingCall): string {
  const short = Object.entries(INTERFACES).find(([, full]) => full === call.interface)?.[0] ?? call.interface;
  const withTarget = call.target !== undefined && call.member !== 'GetAll';
  return withTarget ? `${short}.${call.member}(${call.target ?? ''})` : `${short}.${call.member}`;
}

/** The names a counter key answers to: `Properties.Set(Powered)` counts for Set(Powered), Set, Properties.Set. */
export function callKeyAliases(key: string): string[] {
  const match = /^(.+)\.(\w+)(?:\((\w+)\))?$/.exec(key);
  if (match === null) return [key];
  const [, short, member = '', property] = match;
  const aliases = [key, member, `${short}.${member}`];
  if (property !== undefined) aliases.push(`${member}(${property})`);
  return [...new Set(aliases)];
}

export function describeFaults(faults: BluezFaults): string {
  const hung = faults.hung.length === 0 ? 'nothing hung' : `hung: ${faults.hung.join(', ')}`;
  return `${hung}; ${faults.stuck ? 'discovery stuck' : 'discovery delivers'}`;
}

/** One method call the fake received (hung ones too). */
export interface CallRecord extends IncomingCall {
  /** `Adapter1.StartDiscovery`, `Properties.Set(Powered)`, `ObjectManager.GetManagedObjects`. */
  key: string;
  hung: boolean;
  at: number;
}

/** Counts every call by key and keeps the latest ones, so a test can check what the driver did. */
export class CallLog {
  readonly #counts = new Map<string, number>();
  readonly #records: CallRecord[] = [];
  readonly #size: number;

  constructor(size = 1000) {
    this.#size = size;
  }

  record(call: IncomingCall, hung: boolean, at: number): CallRecord {
    const record: CallRecord = { ...call, key: callKey(call), hung, at };
    this.#counts.set(record.key, (this.#counts.get(record.key) ?? 0) + 1);
    this.#records.push(record);
    if (this.#records.length > this.#size) this.#records.splice(0, this.#records.length - this.#size);
    return record;
  }

  /** Calls counted under `name`: any alias of a key (see callKeyAliases). */
  count(name: string): number {
    let total = 0;
    for (const [key, count] of this.#counts) if (callKeyAliases(key).includes(name)) total += count;
    return total;
  }

  counts(): Record<string, number> {
    return Object.fromEntries([...this.#counts].sort(([a], [b]) => a.localeCompare(b)));
  }

  get records(): readonly CallRecord[] {
    return this.#records;
  }

  clear(): void {
    this.#counts.clear();
    this.#records.length = 0;
  }
}
