// Rules that span sections or list entries. They run on the root even when other parts of the file are
// invalid (so every problem is reported in one pass) and therefore read the half-validated tree as
// `unknown`, skipping any value that already has a problem of its own.

import type { z } from 'zod';
import type { ConfigTree } from '../drivers/contract.js';
import { DRIVER_MODULES, driverNamed } from '../drivers/registry.js';
import { isLoopback } from '../http/access.js';
import { MAX_MS_BELOW_INITIAL_MS } from './fields/device-defaults.js';
import { closestMatch } from './fields/suggest.js';
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
class ValidatedTree implements ConfigTree {
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

/** The bus a device runs on as far as the half-validated tree tells (its driver's busOf, as for a parsed one). */
function busOf(tree: ValidatedTree, index: string | number): string | undefined {
  const explicit = tree.value(['devices', index, 'bus']);
  if (typeof explicit === 'string') return explicit;
  const driver = driverNamed(tree.value(['devices', index, 'driver']));
  return driver?.config.busOf((key) => tree.value(['devices', index, key]));
}

/** One bus is one transport: devices sharing a bus must use the same driver and transport. */
function checkOneDriverPerBus(tree: ValidatedTree): void {
  const firstOnBus = new Map<string, { index: string | number; kind: string }>();
  for (const [index] of tree.entries(['devices'])) {
    const bus = busOf(tree, index);
    const driver = driverNamed(tree.value(['devices', index, 'driver']));
    if (bus === undefined || driver === undefined) continue;
    const transport = tree.value(['devices', index, 'transport']);
    const kind = `${driver.name}/${typeof transport === 'string' ? transport : driver.config.defaultTransport}`;
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
  for (const driver of DRIVER_MODULES) {
    const lines = driver.config.lines;
    if (lines === undefined) continue;
    for (const [index] of tree.entries([driver.name])) {
      const bus = lines.busOf((key) => tree.value([driver.name, index, key]));
      if (bus === undefined) return undefined;
      buses.add(bus);
    }
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
  for (const driver of DRIVER_MODULES) driver.config.rules?.(tree);
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
