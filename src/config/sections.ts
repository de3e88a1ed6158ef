// Schemas of the service-level sections: mqtt, persistence, queue, homeassistant, logging, health, http. Each section applies
// its own defaults, so an absent section (parsed from `{}` by `.prefault`) comes out complete.

import { z } from 'zod';
import {
  baseTopic,
  logLevel,
  msAtLeast,
  mqttUrl,
  nonEmptyString,
  whenFieldsValid,
  wholeNumber,
} from './fields/fields.js';

const port = () => wholeNumber(1, 65_535);

/** TLS listener of the embedded broker; with it, the plain listener stays on loopback only. */
const embeddedTls = z.strictObject({
  cert: nonEmptyString(),
  key: nonEmptyString(),
  port: port().default(8883),
});

/** A client other than the gateway (Home Assistant) that may log in to the embedded broker. */
const embeddedUser = z.strictObject({ user: nonEmptyString(), password: nonEmptyString() });

export const mqttSection = z
  .strictObject({
    /** Absent: the gateway runs its embedded broker. */
    server: mqttUrl().optional(),
    /** Port of the embedded broker, used only when `server` is absent. */
    embedded_port: port().default(1883),
    /** Address the embedded broker listens on: 0.0.0.0 lets Home Assistant on another machine in. */
    embedded_host: nonEmptyString().default('127.0.0.1'),
    /** Absent: no TLS listener. */
    embedded_tls: embeddedTls.optional(),
    /** Further logins of the embedded broker: they read everything and publish commands. */
    embedded_users: z.array(embeddedUser).default(() => []),
    base_topic: baseTopic().default('fieldbridge'),
    client_id: nonEmptyString().default('fieldbridge'),
    user: z.string().optional(),
    password: z.string().optional(),
    keepalive_s: wholeNumber(1, 65_535).default(60),
    /** 4 is MQTT 3.1.1, 5 is MQTT 5. */
    protocol_version: z.literal([4, 5]).default(4),
    ca: nonEmptyString().optional(),
    cert: nonEmptyString().optional(),
    key: nonEmptyString().optional(),
    reject_unauthorized: z.boolean().default(true),
  })
  .superRefine(
    (mqtt, ctx) => {
      // A client certificate is useless without its private key and vice versa.
      if (mqtt.cert !== undefined && mqtt.key === undefined) {
        ctx.addIssue({ code: 'custom', path: ['key'], message: 'is required when cert is given' });
      }
      if (mqtt.key !== undefined && mqtt.cert === undefined) {
        ctx.addIssue({ code: 'custom', path: ['cert'], message: 'is required when key is given' });
      }
    },
    whenFieldsValid('cert', 'key'),
  )
  .superRefine(
    (mqtt, ctx) => {
      // The embedded broker logs clients in with these: a half pair would lock the gateway out (or in).
      if (mqtt.server !== undefined) return;
      if (mqtt.user !== undefined && mqtt.password === undefined) {
        ctx.addIssue({
          code: 'custom',
          // On `user`: when its variable is missing, that is the one problem to report.
          path: ['user'],
          message: 'needs mqtt.password too: the embedded broker logs clients in with both',
        });
      }
      // An empty half of the pair (a variable set to nothing) makes a login anyone can give, as the gateway.
      for (const key of ['user', 'password'] as const) {
        if (mqtt.user !== undefined && mqtt.password !== undefined && mqtt[key] === '') {
          ctx.addIssue({
            code: 'custom',
            path: [key],
            message: 'must not be empty: the embedded broker would let anyone log in as the gateway with it',
          });
        }
      }
      // (A password alone is what the link sends to an external broker; without a user it locks nothing.)
      if (mqtt.user === undefined && mqtt.embedded_users.length > 0) {
        ctx.addIssue({
          code: 'custom',
          path: ['user'],
          message: 'is required with embedded_users for the embedded broker (the gateway logs in too)',
        });
      }
      const names = mqtt.embedded_users.map((entry) => entry.user);
      names.forEach((name, index) => {
        if (name === mqtt.user || names.indexOf(name) !== index) {
          ctx.addIssue({
            code: 'custom',
            path: ['embedded_users', index, 'user'],
            message: `"${name}" is given twice (mqtt.user and embedded_users are one list of logins)`,
          });
        }
      });
    },
    whenFieldsValid('server', 'user', 'password', 'embedded_users'),
  )
  .prefault({});

export const persistenceSection = z
  .strictObject({
    path: nonEmptyString().default('./data/fieldbridge.db'),
    /** SQLite `synchronous` pragma: `full` survives power loss, `normal` only process crashes. */
    synchronous: z.enum(['normal', 'full']).default('normal'),
    retention_days: wholeNumber(1).default(30),
  })
  .prefault({});

const logFile = z.strictObject({
  path: nonEmptyString().default('./data/fieldbridge.log'),
  max_size_mb: wholeNumber(1).default(50),
  max_files: wholeNumber(1).default(5),
});

export const loggingSection = z
  .strictObject({
    level: logLevel().default('info'),
    /** Per-namespace level, e.g. `supervisor: debug` or `device.heat1: warn`. */
    namespaces: z.record(nonEmptyString(), logLevel()).default(() => ({})),
    format: z.enum(['pretty', 'json']).default('pretty'),
    /** Absent: no log file. */
    file: logFile.optional(),
    repeat_summary_ms: msAtLeast(1_000).default(300_000),
  })
  .prefault({});

export const healthSection = z
  .strictObject({
    /** bridge/health is published this often, and at once on any status change. */
    interval_ms: msAtLeast(100).default(30_000),
    /** Retained device states are republished this often, so Home Assistant's expire_after never fires while a device is fine. */
    // Whole seconds reach Home Assistant (expire_after is 3× this), and each refresh sends every state.
    state_refresh_ms: msAtLeast(1_000).default(60_000),
  })
  .prefault({});

/** The offline MQTT queue (outbox) in SQLite. */
export const queueSection = z
  .strictObject({
    max_messages: wholeNumber(1).default(1_000_000),
    max_bytes: wholeNumber(1).default(256 * 1024 * 1024),
    /** Messages published but not yet acknowledged by the broker, at most, while draining. */
    inflight: wholeNumber(1, 65_535).default(100),
  })
  .prefault({});

export const homeassistantSection = z
  .strictObject({
    enabled: z.boolean().default(true),
    discovery_prefix: baseTopic().default('homeassistant'),
    /** Home Assistant's birth/last-will topic: discovery is republished when it says `online`. */
    status_topic: nonEmptyString().default('homeassistant/status'),
  })
  .prefault({});

export const httpSection = z
  .strictObject({
    enabled: z.boolean().default(true),
    host: nonEmptyString().default('127.0.0.1'),
    port: port().default(8080),
    // An empty token would silently mean "everyone is authorised", so it is refused.
    token: z
      .string()
      .min(1, 'must not be empty (leave the key out to disable token authentication)')
      .optional(),
  })
  .prefault({});
