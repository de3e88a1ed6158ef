import { z } from 'zod';
import {
  commonFields,
  identityFields,
  simulationNeedsSimulatedTransport,
} from '../../config/fields/deviceFields.js';
import { nonEmptyString, pollIntervalMs, whenFieldsValid, wholeNumber } from '../../config/fields/fields.js';
import type { DriverConfig, FieldReader } from '../contract.js';

// DALI Center in the configuration file: one `role: gateway` device per Sunricher gateway (configured by
// hand, or stored by the `dalicenter/pair` request with the credentials its button revealed), and the
// lights, groups, scenes, sensors and panels its inventory found (stored by a scan, as DALI lamps are).
// One bus per gateway: every device of a gateway shares its one MQTT link.

/** A serial that can name topics: letters, digits, - and _ (the gateway's MAC, 12 hex digits, in practice). */
const gatewaySerial = () =>
  z
    .string()
    .regex(/^[0-9A-Za-z_-]{1,64}$/, 'must be the gateway serial (gwSn): letters, digits, - and _')
    .transform((serial) => serial.toUpperCase());

export const DALICENTER_ROLES = [
  'gateway',
  'light',
  'group',
  'scene',
  'motion',
  'illuminance',
  'panel',
] as const;
export type DaliCenterRole = (typeof DALICENTER_ROLES)[number];

export const daliCenterDeviceSchema = z
  .strictObject({
    ...identityFields,
    driver: z.literal('dalicenter'),
    /** `mqtt`: the gateway's own broker; `simulated`: an in-process simulated gateway (demo, tests). */
    transport: z.enum(['mqtt', 'simulated']).default('mqtt'),
    /**
     * The gateway's serial (gwSn, its MAC): its topics, its devices' identity, its bus. A gateway without
     * one is the one discovery finds (alone on the network); its devices then carry none either.
     */
    serial: gatewaySerial().optional(),
    /** `gateway` (the default): the gateway itself; the others are its inventory, found by a scan. */
    role: z.enum(DALICENTER_ROLES).default('gateway'),
    // --- the gateway (role: gateway)
    /** The gateway's address; a paired gateway's is kept up to date by rediscovery. */
    host: nonEmptyString().optional(),
    port: wholeNumber(1, 65535).optional(),
    username: nonEmptyString().optional(),
    password: nonEmptyString().optional(),
    /** The gateway's broker speaks TLS (its discovery reply says isMqttTls). */
    tls: z.boolean().optional(),
    /** A CA certificate (PEM file) to verify a TLS gateway with; none: the certificate is not checked, as the vendor SDK. */
    ca_file: nonEmptyString().optional(),
    /** The gateway's DALI lines (channelTotal). */
    channels: z.array(wholeNumber(0, 15)).optional(),
    // --- a device of the gateway's inventory
    /** The vendor's device type code (0101 DT6, 0102 DT8 Tc, …, 0201 motion, 0202 illuminance, 03xx panels). */
    dev_type: z
      .string()
      .regex(/^[0-9A-Fa-f]{4}([0-9A-Fa-f]{2})?$/, 'must be a device type code (4 or 6 hex digits)')
      .transform((code) => code.toUpperCase())
      .optional(),
    channel: wholeNumber(0, 15).optional(),
    address: wholeNumber(0, 99).optional(),
    group_id: wholeNumber(0, 9999).optional(),
    scene_id: wholeNumber(0, 9999).optional(),
    /** A DT8 Tc light's colour temperature limits (from its parameters when the scan read them). */
    min_kelvin: wholeNumber(1000, 10_000).optional(),
    max_kelvin: wholeNumber(1000, 10_000).optional(),
    ...commonFields,
    /** The gateway device's self-test (a getVersion round trip); devices report by push and need none. */
    poll_interval_ms: pollIntervalMs().optional(),
  })
  .superRefine(simulationNeedsSimulatedTransport, whenFieldsValid('transport', 'simulation'))
  .superRefine(
    (device, ctx) => {
      const need = (key: keyof typeof device, why: string) => {
        if (device[key] === undefined) ctx.addIssue({ code: 'custom', path: [key], message: why });
      };
      switch (device.role) {
        case 'gateway':
          // Without host the gateway is looked for by discovery (by its serial when given).
          return;
        case 'group':
          need('group_id', 'is required for a group');
          need('channel', 'is required for a group');
          return;
        case 'scene':
          need('scene_id', 'is required for a scene');
          need('channel', 'is required for a scene');
          return;
        default:
          need('dev_type', `is required for a ${device.role}`);
          need('channel', `is required for a ${device.role}`);
          need('address', `is required for a ${device.role}`);
      }
    },
    whenFieldsValid('role', 'transport', 'host', 'group_id', 'scene_id', 'dev_type', 'channel', 'address'),
  );

export type DaliCenterDevice = z.output<typeof daliCenterDeviceSchema>;

/** One bus per gateway: `dalicenter:<serial>` (`dalicenter:default` without one), `dalicenter:simulated:<serial>`. */
export function daliCenterBus(fields: FieldReader): string {
  const serial = fields('serial');
  const name = typeof serial === 'string' ? serial.toUpperCase() : 'default';
  return fields('transport') === 'simulated' ? `dalicenter:simulated:${name}` : `dalicenter:${name}`;
}

export const daliCenterConfig: DriverConfig<DaliCenterDevice, never> = {
  device: daliCenterDeviceSchema,
  defaultTransport: 'mqtt',
  busOf: daliCenterBus,
  secretKeys: ['password', 'username'],
  // The inventory's devices of a gateway are the same device when they stand at the same place on it.
  sameDevice: (found, configured) =>
    found.serial === configured.serial &&
    found.role === configured.role &&
    found.channel === configured.channel &&
    found.address === configured.address &&
    found.group_id === configured.group_id &&
    found.scene_id === configured.scene_id &&
    (found.dev_type ?? '') === (configured.dev_type ?? ''),
};
