// Building blocks shared by the section and device schemas. Messages for plain type and range failures
// come from ./issues.ts; the rules here spell out their own messages because they need to say why.

import { z } from 'zod';

/**
 * A whole number. Not `z.int()`: its failure aborts the whole parse's object rules (zod marks it
 * non-continuable), which would hide e.g. duplicate ids until a stray `1.5` is fixed.
 */
const integer = () => z.number().multipleOf(1);

/** A whole number in `[min, max]`. */
export function wholeNumber(min: number, max?: number) {
  const atLeastMin = integer().min(min);
  return max === undefined ? atLeastMin : atLeastMin.max(max);
}

/** A delay in milliseconds where 0 ("at once") is harmless: a simulated delay, a bounded retry. */
export const durationMs = () => integer().min(0);

/**
 * A duration in milliseconds of at least `min`. Every interval, period, delay and timeout has a floor:
 * 0 or a few ms turns a timer into a busy loop (`health.interval_ms: 0` published thousands of
 * messages a second) or makes every operation time out. The floors are listed in README.md.
 */
export const msAtLeast = (min: number) => integer().min(min);

/** A period that 0 switches off ("never"); any other value is at least `min` ms (see msAtLeast). */
function msOffOrAtLeast(min: number) {
  return integer().superRefine((ms, ctx) => {
    // A fraction already has its own "expected a whole number" problem.
    if (Number.isInteger(ms) && ms !== 0 && ms < min) {
      ctx.addIssue(`must be 0 (off) or >= ${min} (got ${ms})`);
    }
  });
}

/** How often a device is polled (a DALI self-test, an M-Bus read); 0: not at all. */
export const pollIntervalMs = () => msOffOrAtLeast(50);

/** Unheard (unread) this long and a device is unavailable; 0: never. */
export const offlineAfterMs = () => msOffOrAtLeast(1_000);

/** Simulated link loss every so often; 0: never. */
export const disconnectEveryMs = () => msOffOrAtLeast(100);

export const nonEmptyString = () => z.string().min(1);

/** A probability or fraction in [0, 1]. */
export const fraction = () => z.number().min(0).max(1);

export const LOG_LEVELS = ['error', 'warn', 'info', 'debug'] as const;
export const logLevel = () => z.enum(LOG_LEVELS);

/**
 * An object rule (one that compares fields) normally only runs when every field of the object is valid.
 * This lets it run as long as the fields it reads are valid, so it is reported alongside unrelated
 * problems in the same object instead of surfacing only after those are fixed.
 */
export function whenFieldsValid(...fields: string[]) {
  return {
    when: (payload: z.core.ParsePayload): boolean =>
      typeof payload.value === 'object' &&
      payload.value !== null &&
      !payload.issues.some((issue) => {
        const field = issue.path?.[0];
        // An issue on the object itself (wrong type) blocks the rule; an unknown key does not.
        if (field === undefined) return issue.code !== 'unrecognized_keys';
        return typeof field === 'string' && fields.includes(field);
      }),
  };
}

const MQTT_URL_PROTOCOLS = ['mqtt:', 'mqtts:', 'ws:', 'wss:'];

/** A broker URL. The value itself is never echoed: it may carry credentials (`mqtt://user:pass@host`). */
export function mqttUrl() {
  return z.string().superRefine((value, ctx) => {
    const expected = 'must be a URL starting with mqtt://, mqtts://, ws:// or wss://';
    let url: URL;
    try {
      url = new URL(value);
    } catch {
      ctx.addIssue(`${expected} (e.g. mqtt://localhost:1883)`);
      return;
    }
    if (!MQTT_URL_PROTOCOLS.includes(url.protocol)) {
      ctx.addIssue(`${expected} (got scheme "${url.protocol.slice(0, -1)}")`);
    } else if (url.hostname === '') ctx.addIssue(`${expected} and name a host`);
  });
}

/** The topic prefix every gateway topic lives under. */
export function baseTopic() {
  return nonEmptyString().superRefine((value, ctx) => {
    for (const wildcard of ['+', '#']) {
      if (value.includes(wildcard)) {
        ctx.addIssue(`must not contain "${wildcard}" (an MQTT wildcard cannot be part of a topic name)`);
      }
    }
    if (value.startsWith('/') || value.endsWith('/')) {
      ctx.addIssue('must not start or end with "/" (that would create an empty topic level)');
    }
  });
}

export const MAX_DEVICE_ID_LENGTH = 64;
/** `<base_topic>/bridge/...` carries the gateway's own state, so no device may be called that. */
export const RESERVED_DEVICE_ID = 'bridge';

/** Why `id` cannot be used as a device id (empty when it can). */
export function deviceIdProblems(id: string): string[] {
  const whyTopicLevel = 'the id is used as one MQTT topic level';
  const problems: string[] = [];
  if (id.length > MAX_DEVICE_ID_LENGTH) {
    problems.push(
      `is ${id.length} characters long, at most ${MAX_DEVICE_ID_LENGTH} are allowed (${whyTopicLevel})`,
    );
  }
  if (id.includes('/')) problems.push(`must not contain "/" (${whyTopicLevel}, and "/" separates levels)`);
  for (const wildcard of ['+', '#']) {
    if (id.includes(wildcard)) {
      problems.push(`must not contain "${wildcard}" (it is an MQTT wildcard and ${whyTopicLevel})`);
    }
  }
  if (id.startsWith('$')) {
    problems.push('must not start with "$" (MQTT reserves topics starting with "$" for the broker)');
  }
  // \p{C} covers control and other invisible characters, \s every kind of whitespace.
  if (/[\s\p{C}]/u.test(id)) {
    problems.push(`must not contain whitespace or control characters (${whyTopicLevel})`);
  }
  if (id === RESERVED_DEVICE_ID) {
    problems.push(
      `"${RESERVED_DEVICE_ID}" is reserved: the gateway's own topics live at <base_topic>/bridge`,
    );
  }
  return problems;
}

export function deviceId() {
  return nonEmptyString().superRefine((id, ctx) => {
    for (const problem of deviceIdProblems(id)) ctx.addIssue(problem);
  });
}

/** A Bluetooth MAC address, accepted in either case and normalised to upper case. */
export function macAddress() {
  return z
    .string()
    .regex(/^[0-9A-Fa-f]{2}(:[0-9A-Fa-f]{2}){5}$/, 'must be a MAC address like AA:BB:CC:DD:EE:FF')
    .transform((mac) => mac.toUpperCase());
}

/** The 16-byte AES key of an encrypted BLE advertiser. Secret: the value is never echoed. */
export function bindKey() {
  return z
    .string()
    .regex(/^[0-9A-Fa-f]{32}$/, 'must be exactly 32 hexadecimal digits (the 16-byte encryption key)');
}

export const MBUS_MAX_PRIMARY_ADDRESS = 250;

/** M-Bus primary address (0..250) or 16-hex-digit secondary address. */
export function mbusAddress() {
  const message =
    `must be a primary address 0..${MBUS_MAX_PRIMARY_ADDRESS} or a secondary address of ` +
    '16 hexadecimal digits written as a quoted string';
  // One message for every way this fails: YAML reads an unquoted all-digit secondary address as a
  // number, and "must be <= 250" alone would not tell the user to quote it.
  return z.union([z.number(), z.string()], { error: message }).superRefine((address, ctx) => {
    const valid =
      typeof address === 'number'
        ? Number.isInteger(address) && address >= 0 && address <= MBUS_MAX_PRIMARY_ADDRESS
        : /^[0-9A-Fa-f]{16}$/.test(address);
    if (!valid) ctx.addIssue(`${message} (got ${JSON.stringify(address)})`);
  });
}
