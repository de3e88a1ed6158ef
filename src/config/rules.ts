// Rules that span sections or list entries. They run on the root even when other parts of the file are
// invalid (so every problem is reported in one pass) and therefore read the half-validated tree as
// `unknown`, skipping any value that already has a problem of its own.

import type { z } from 'zod';
import { isLoopback } from '../http/access.js';
import { MAX_MS_BELOW_INITIAL_MS } from './device-defaults.js';
import { MBUS_DEFAULT_BAUD } from './devices.js';
import { closestMatch } from './suggest.js';
import { MAX_MS_BELOW_MIN_MS } from './supervisor.js';

type Path = PropertyKey[];

function valueAt(tree: unknown, path: Path): unknown {
  let node = tree;
  for (const segment of path) {
    if (typeof node !== 'object' || node === null) return undefined;
    node = Reflect.get(node, segment);
  }
  return node;
}

function startsWith(path: readonly PropertyKey[], prefix: Path): boolean {
  return prefix.every((segment, index) => path[index] === segment);
}

/** Reads the tree being validated; values that failed their own validation read as undefined. */
class ValidatedTree {
  constructor(private readonly payload: z.core.$RefinementCtx) {}

  value(path: Path): unknown {
    const failed = this.payload.issues.some((issue) => startsWith(issue.path ?? [], path));
    return failed ? undefined : valueAt(this.payload.value, path);
  }

  number(path: Path): number | undefined {
    const value = this.value(path);
    return typeof value === 'number' ? value : undefined;
  }

  /** The value whether or not it is valid; only for looking at its shape. */
  raw(path: Path): unknown {
    return valueAt(this.payload.value, path);
  }

  entries(path: Path): [string | number, unknown][] {
    const node = this.raw(path);
    if (Array.isArray(node)) return node.map((item, index) => [index, item]);
    if (typeof node === 'object' && node !== null) return Object.entries(node);
    return [];
  }

  report(path: Path, message: string): void {
    this.payload.addIssue({ code: 'custom', path, message });
  }
}

function checkUniqueDeviceIds(tree: ValidatedTree): void {
  // Keyed in lower case: ids that differ only in case are one MQTT topic and one Home Assistant unique
  // id on a case-insensitive system (a broker's persistence on macOS or Windows, HA's entity ids).
  const firstById = new Map<string, { index: number | string; id: string }>();
  for (const [index] of tree.entries(['devices'])) {
    const id = tree.value(['devices', index, 'id']);
    if (typeof id !== 'string') continue;
    const first = firstById.get(id.toLowerCase());
    if (first === undefined) firstById.set(id.toLowerCase(), { index, id });
    else if (first.id === id) {
      tree.report(['devices', index, 'id'], `duplicate id "${id}" (first used by devices[${first.index}])`);
    } else {
      tree.report(
        ['devices', index, 'id'],
        `"${id}" differs from "${first.id}" (devices[${first.index}]) only in case; their MQTT topics and ` +
          'Home Assistant unique ids would collide where case does not count: choose another id',
      );
    }
  }
}

/** The bus a device runs on as far as the half-validated tree tells (see defaultBus in devices.ts). */
function busOf(tree: ValidatedTree, index: string | number): string | undefined {
  const explicit = tree.value(['devices', index, 'bus']);
  if (typeof explicit === 'string') return explicit;
  const driver = tree.value(['devices', index, 'driver']);
  const transport = tree.value(['devices', index, 'transport']);
  if (typeof driver !== 'string') return undefined;
  if (driver === 'simulated') return 'simulated';
  if (transport === 'simulated') return `${driver}:simulated`;
  const key = { mbus: 'port', dali: 'adapter_serial', ble: 'adapter' }[driver];
  const fallback = { mbus: 'unknown', dali: 'default', ble: 'hci0' }[driver];
  if (key === undefined) return undefined;
  const value = tree.value(['devices', index, key]);
  return `${driver}:${typeof value === 'string' ? value : fallback}`;
}

const DEFAULT_TRANSPORT: Record<string, string> = {
  mbus: 'serial',
  dali: 'hid',
  ble: 'bluez',
  simulated: 'simulated',
};

/** One bus is one transport: devices sharing a bus must use the same driver and transport. */
function checkOneDriverPerBus(tree: ValidatedTree): void {
  const firstOnBus = new Map<string, { index: string | number; kind: string }>();
  for (const [index] of tree.entries(['devices'])) {
    const bus = busOf(tree, index);
    const driver = tree.value(['devices', index, 'driver']);
    if (bus === undefined || typeof driver !== 'string') continue;
    const transport = tree.value(['devices', index, 'transport']);
    const kind = `${driver}/${typeof transport === 'string' ? transport : DEFAULT_TRANSPORT[driver]}`;
    const first = firstOnBus.get(bus);
    if (first === undefined) firstOnBus.set(bus, { index, kind });
    else if (first.kind !== kind) {
      tree.report(
        ['devices', index, 'bus'],
        `bus "${bus}" already runs ${first.kind} (devices[${first.index}]); one bus cannot mix it with ${kind}`,
      );
    }
  }
}

/**
 * `overridePath` holds a partial override of `basePath`; the merged `upper >= lower` must hold. Checked
 * only when the override touches one of the two keys: otherwise the base itself is what is wrong, and
 * that is reported once at the base rather than once per override.
 */
function checkMergedBound(
  tree: ValidatedTree,
  basePath: Path,
  overridePath: Path,
  keys: { lower: string; upper: string },
  message: string,
): void {
  const override = tree.raw(overridePath);
  if (typeof override !== 'object' || override === null) return;
  if (!(keys.lower in override) && !(keys.upper in override)) return;
  // An overridden but invalid value reads as undefined rather than falling back to the base.
  const effective = (key: string) =>
    tree.number(key in override ? [...overridePath, key] : [...basePath, key]);
  const lower = effective(keys.lower);
  const upper = effective(keys.upper);
  if (lower !== undefined && upper !== undefined && upper < lower) {
    tree.report([...overridePath, keys.upper], message);
  }
}

/** Every bus the config runs: its devices' and its lines' (undefined when a device's bus is unknown). */
function busesOf(tree: ValidatedTree): Set<string> | undefined {
  const buses = new Set<string>();
  for (const [index] of tree.entries(['devices'])) {
    const bus = busOf(tree, index);
    if (bus === undefined) return undefined;
    buses.add(bus);
  }
  for (const [index] of tree.entries(['mbus'])) {
    const port = tree.value(['mbus', index, 'port']);
    if (typeof port !== 'string') return undefined;
    buses.add(`mbus:${port}`);
  }
  for (const [index] of tree.entries(['dali'])) {
    const serial = tree.value(['dali', index, 'adapter_serial']);
    const simulated = tree.value(['dali', index, 'transport']) === 'simulated';
    buses.add(simulated ? 'dali:simulated' : `dali:${typeof serial === 'string' ? serial : 'default'}`);
  }
  for (const [index] of tree.entries(['ble'])) {
    const adapter = tree.value(['ble', index, 'adapter']);
    const simulated = tree.value(['ble', index, 'transport']) === 'simulated';
    buses.add(simulated ? 'ble:simulated' : `ble:${typeof adapter === 'string' ? adapter : 'hci0'}`);
  }
  return buses;
}

/** An override for a bus nothing runs on is a typo (or a leftover) that would silently do nothing. */
function checkSupervisedBusesExist(tree: ValidatedTree): void {
  const raw = tree.raw(['supervisor', 'buses']);
  // Not a mapping at all: that has its own problem.
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) return;
  const overrides = Object.keys(raw);
  if (overrides.length === 0) return;
  const buses = busesOf(tree);
  if (buses === undefined) return;
  const known = [...buses].sort();
  for (const busId of overrides) {
    if (buses.has(busId)) continue;
    const suggestion = closestMatch(busId, known);
    const hint =
      suggestion !== undefined
        ? `did you mean "${suggestion}"?`
        : known.length === 0
          ? 'none is configured'
          : `the buses are: ${known.join(', ')}`;
    tree.report(['supervisor', 'buses', busId], `no device or line runs on this bus (${hint})`);
  }
}

/** A serial port runs at one speed: M-Bus lines and meters that share a port must agree on `baud`. */
function checkOneBaudPerPort(tree: ValidatedTree): void {
  const first = new Map<string, { baud: number; where: string }>();
  const visit = (path: Path, where: string) => {
    const port = tree.value([...path, 'port']);
    const rawBaud = tree.raw([...path, 'baud']);
    const baud = rawBaud === undefined ? MBUS_DEFAULT_BAUD : tree.number([...path, 'baud']);
    if (typeof port !== 'string' || baud === undefined) return;
    const seen = first.get(port);
    if (seen === undefined) first.set(port, { baud, where });
    else if (seen.baud !== baud) {
      tree.report(
        [...path, 'baud'],
        `port ${port} already runs at ${seen.baud} Bd (${seen.where}); one port has one baud rate`,
      );
    }
  };
  for (const [index] of tree.entries(['mbus'])) visit(['mbus', index], `mbus[${index}]`);
  for (const [index] of tree.entries(['devices'])) {
    const device = ['devices', index];
    // An absent transport is the default, serial; an invalid one has its own problem.
    const transport =
      tree.raw([...device, 'transport']) === undefined ? 'serial' : tree.value([...device, 'transport']);
    const serial = transport === 'serial';
    if (tree.value([...device, 'driver']) === 'mbus' && serial) visit(device, `devices[${index}]`);
  }
}

/** The embedded broker (no mqtt.server) and the HTTP server cannot listen on one port. */
function checkHttpPortFree(tree: ValidatedTree): void {
  if (tree.raw(['mqtt', 'server']) !== undefined || tree.value(['http', 'enabled']) === false) return;
  const httpPort = tree.number(['http', 'port']);
  if (httpPort !== undefined && httpPort === tree.number(['mqtt', 'embedded_port'])) {
    tree.report(
      ['http', 'port'],
      `${httpPort} is also the embedded MQTT broker's port (mqtt.embedded_port); use another port for one of them`,
    );
  }
}

/** An HTTP server other machines can reach must have a token: it restarts devices and shows the config. */
function checkHttpTokenBeyondLoopback(tree: ValidatedTree): void {
  if (tree.value(['http', 'enabled']) === false || tree.raw(['http', 'token']) !== undefined) return;
  const host = tree.value(['http', 'host']);
  if (typeof host !== 'string' || isLoopback(host)) return;
  tree.report(
    ['http', 'host'],
    `${host} is beyond loopback, so other machines could read /state and restart devices: set http.token ` +
      '(e.g. token: ${FIELDBRIDGE_HTTP_TOKEN}) or bind http.host to 127.0.0.1',
  );
}

export function checkCrossSectionRules(payload: z.core.$RefinementCtx): void {
  const tree = new ValidatedTree(payload);
  checkUniqueDeviceIds(tree);
  checkOneDriverPerBus(tree);
  checkSupervisedBusesExist(tree);
  checkOneBaudPerPort(tree);
  checkHttpPortFree(tree);
  checkHttpTokenBeyondLoopback(tree);
  for (const [index] of tree.entries(['devices'])) {
    checkMergedBound(
      tree,
      ['device_defaults', 'reconnect'],
      ['devices', index, 'reconnect'],
      { lower: 'initial_ms', upper: 'max_ms' },
      MAX_MS_BELOW_INITIAL_MS,
    );
  }
  for (const [busId] of tree.entries(['supervisor', 'buses'])) {
    checkMergedBound(
      tree,
      ['supervisor', 'restart_backoff'],
      ['supervisor', 'buses', busId, 'restart_backoff'],
      { lower: 'min_ms', upper: 'max_ms' },
      MAX_MS_BELOW_MIN_MS,
    );
  }
}
