import type { z } from 'zod';
import type { FieldbridgeConfig } from '../config/index.js';

// The config side of the driver contract (contract.ts): the types of DriverModule.config.

/** What every device entry has, whatever its driver (see src/config/deviceFields.ts). */
export interface DeviceBase {
  id: string;
  driver: string;
  transport: string;
  bus?: string | undefined;
  simulation?: unknown;
}

/**
 * Reads one field of a device or line entry: undefined when absent, or (on the half-validated tree the
 * cross-section rules read) when invalid. One reader serves parsed entries and that tree alike, so a
 * driver writes its bus-id rule once.
 */
export type FieldReader = (key: string) => unknown;

/** The reader of an entry's own fields. */
export function fieldsOf(entry: object): FieldReader {
  return (key) => Reflect.get(entry, key);
}

/** A device schema: a zod object whose `driver` is the driver's name as a literal. */
export type DeviceSchema<Device> = z.ZodType<Device> & z.core.$ZodTypeDiscriminable;

/** The driver's `<name>:` section: the lines (ports, adapters) looked after even before a device on them is known. */
export interface LineSection<Line> {
  /** The section's schema (a list of lines, `[]` by default). */
  readonly schema: z.ZodType<Line[]>;
  /** The bus of a line's devices; undefined when the line's fields do not tell (e.g. no valid port). */
  busOf(line: FieldReader): string | undefined;
}

/** The configuration tree while it is validated; values that failed their own validation read as undefined. */
export interface ConfigTree {
  value(path: PropertyKey[]): unknown;
  number(path: PropertyKey[]): number | undefined;
  /** The value whether or not it is valid; only for looking at its shape. */
  raw(path: PropertyKey[]): unknown;
  /** The items of a list or the entries of a mapping at `path` (none for anything else). */
  entries(path: PropertyKey[]): [string | number, unknown][];
  report(path: PropertyKey[], message: string): void;
}

export interface DriverConfig<Device extends DeviceBase, Line> {
  /** The schema of one `devices[]` entry of this driver. */
  readonly device: DeviceSchema<Device>;
  /** The `transport:` of a device that names none. */
  readonly defaultTransport: string;
  /**
   * The bus a device runs on when it names none: one sub-supervisor per physical bus (a port, an
   * adapter). The one rule for this driver's bus ids; `lines.busOf` and scans use it too.
   */
  busOf(device: FieldReader): string;
  /** Its `<name>:` section (the section's key is the driver's name), if it has one. */
  readonly lines?: LineSection<Line>;
  /**
   * The devices its lines imply (an adapter device per line), as entries a user would write under
   * `devices:`; they run before the configured devices on their bus. `takeId` turns a wanted id into one
   * no other device has (`ble_hci0`, else `ble_hci0_2`, …).
   */
  impliedDevices?(config: FieldbridgeConfig, takeId: (wanted: string) => string): Record<string, unknown>[];
  /** Device keys whose values are secret (masked in check-config's output and error messages). */
  readonly secretKeys?: readonly string[];
  /** Whether a device a scan found is this configured device (same meter, same MAC): the configured one wins. */
  sameDevice?(found: Device, configured: Device): boolean;
  /** A device a scan found, brought in line with the config as it is now (a meter at its line's baud). */
  updateFound?<D extends Device>(config: FieldbridgeConfig, found: D): D;
  /** Rules across sections for this driver's devices and lines (one baud rate per serial port). */
  rules?(tree: ConfigTree): void;
}
