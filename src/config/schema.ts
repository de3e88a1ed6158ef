// The whole configuration file. YAML keys stay snake_case; ./policy.ts turns the parts the machines
// need into the camelCase policies of src/machines/policy.ts.

import { z } from 'zod';
import { DRIVER_MODULES, type RegisteredDriver } from '../drivers/registry.js';
import { deviceDefaultsSection } from './fields/device-defaults.js';
import { type DeviceConfig, deviceSchema } from './devices.js';
import { checkCrossSectionRules } from './rules.js';
import {
  healthSection,
  homeassistantSection,
  httpSection,
  loggingSection,
  mqttSection,
  persistenceSection,
  queueSection,
} from './sections.js';
import { supervisorSection } from './supervisor.js';

const gatewaySections = {
  mqtt: mqttSection,
  persistence: persistenceSection,
  queue: queueSection,
  homeassistant: homeassistantSection,
  logging: loggingSection,
  health: healthSection,
  http: httpSection,
  supervisor: supervisorSection,
  device_defaults: deviceDefaultsSection,
};

/** The lines of a driver's `<name>:` section (never for a driver without one). */
type LineOf<Module> = Module extends { config: { lines?: { schema: z.ZodType<(infer Line)[]> } } }
  ? Line
  : never;

/** Each driver's `<name>:` section, keyed by the driver's name. */
type LineSections = {
  [Module in RegisteredDriver as [LineOf<Module>] extends [never] ? never : Module['name']]: LineOf<Module>[];
};

/** The validated configuration with every default filled in (snake_case, as in the YAML file). */
export type FieldbridgeConfig = {
  [Key in keyof typeof gatewaySections]: z.output<(typeof gatewaySections)[Key]>;
} & LineSections & { devices: DeviceConfig[] };

// Built on first use (see ./devices.ts). The drivers' line sections go between the gateway's sections
// and `devices`, in registry order: the effective config prints its keys in this order.
function buildConfigSchema(): z.ZodType<FieldbridgeConfig> {
  // Built from the registry at run time; LineSections spells out the types they give.
  const lineSections = Object.fromEntries(
    DRIVER_MODULES.flatMap((module) =>
      module.config.lines ? [[module.name, module.config.lines.schema]] : [],
    ),
  ) as { [Key in keyof LineSections]: z.ZodType<LineSections[Key]> };
  return (
    z
      .strictObject({ ...gatewaySections, ...lineSections, devices: z.array(deviceSchema).default(() => []) })
      // Runs even when sections failed, so e.g. duplicate ids are reported together with a typo elsewhere.
      .superRefine((_config, ctx) => checkCrossSectionRules(ctx), { when: () => true })
  );
}

export const configSchema: z.ZodType<FieldbridgeConfig> = z.lazy(buildConfigSchema);

export type { DeviceConfig } from './devices.js';
