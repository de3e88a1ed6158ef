// The whole configuration file. YAML keys stay snake_case; ./policy.ts turns the parts the machines
// need into the camelCase policies of src/machines/policy.ts.

import { z } from 'zod';
import { deviceDefaultsSection } from './device-defaults.js';
import { deviceSchema } from './devices.js';
import { bleSection } from '../drivers/ble/lineConfig.js';
import { daliSection } from '../drivers/dali/lineConfig.js';
import { mbusSection } from '../drivers/mbus/lineConfig.js';
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

export const configSchema = z
  .strictObject({
    mqtt: mqttSection,
    persistence: persistenceSection,
    queue: queueSection,
    homeassistant: homeassistantSection,
    logging: loggingSection,
    health: healthSection,
    http: httpSection,
    supervisor: supervisorSection,
    device_defaults: deviceDefaultsSection,
    mbus: mbusSection,
    dali: daliSection,
    ble: bleSection,
    devices: z.array(deviceSchema).default(() => []),
  })
  // Runs even when sections failed, so e.g. duplicate ids are reported together with a typo elsewhere.
  .superRefine((_config, ctx) => checkCrossSectionRules(ctx), { when: () => true });

/** The validated configuration with every default filled in (snake_case, as in the YAML file). */
export type FieldbridgeConfig = z.output<typeof configSchema>;

/** One validated device; narrow on `driver` for the driver-specific keys. */
export type DeviceConfig = FieldbridgeConfig['devices'][number];
