import { z } from 'zod';
import { closestMatch } from '../config/fields/suggest.js';
import type { DriverRequest, ScanRequest } from '../drivers/contract.js';
import { DRIVER_MODULES, scannableDrivers } from '../drivers/registry.js';
import { LOG_LEVELS } from '../logging/index.js';
import { describeIssues } from '../describeIssues.js';
import { errorText } from '../errorText.js';

// Bridge requests (`<base>/bridge/request/<name>`) and device commands (`<base>/<id>/set|get`) arrive
// as untrusted MQTT payloads. Everything is checked here before it reaches an actor: size, JSON,
// shape, types. A bad message gets an error that names the problem; nothing else happens.

export const MAX_PAYLOAD_BYTES = 64 * 1024;

export type Transaction = string | number;

const transaction = z.union([z.string().max(256), z.number()]).optional();
const deviceId = z.string().min(1, 'must not be empty');

/** `simulation/fault`: which driver's simulated bus, then that driver's fields. */
export type SimulationFaultFields = { driver: string } & Record<string, unknown>;

function simulationFaultSchema(): z.ZodType<SimulationFaultFields> {
  const variants = DRIVER_MODULES.flatMap((driver) =>
    driver.simulationFaults
      ? [z.strictObject({ driver: z.literal(driver.name), ...driver.simulationFaults.fields, transaction })]
      : [],
  );
  const [only, ...more] = variants;
  if (only === undefined) return z.strictObject({ driver: z.never() });
  return more.length === 0 ? only : z.discriminatedUnion('driver', [only, ...more]);
}

/** Requests that only one driver answers (DriverModule.requests), by name. */
const DRIVER_REQUESTS = new Map<string, DriverRequest>(
  DRIVER_MODULES.flatMap((driver) => Object.entries(driver.requests ?? {})),
);

const REQUEST_SCHEMAS = {
  health_check: z.strictObject({ transaction }),
  'device/restart': z.strictObject({ id: deviceId, transaction }),
  'device/recover': z.strictObject({ id: deviceId, step: z.string().min(1).optional(), transaction }),
  /** Its fields are those of the driver it names (scanRequestSchema()). */
  scan: z.lazy(scanRequestSchema),
  /** Forgets a device found by a scan or BLE auto_add (a configured one is the config file's). */
  'device/remove': z.strictObject({ id: deviceId, transaction }),
  log_level: z.strictObject({
    level: z.enum(LOG_LEVELS),
    namespace: z.string().min(1).optional(),
    transaction,
  }),
  'queue/stats': z.strictObject({ transaction }),
  'config/reload': z.strictObject({ transaction }),
  /** Faults for a driver's simulated bus (DriverModule.simulationFaults): the soak and demos, never hardware. */
  'simulation/fault': simulationFaultSchema(),
} as const;

/**
 * The `scan` request: a union discriminated on `driver` of the request schema of every driver that can
 * scan (DriverModule.scan), so a field of another driver's scan is an unknown key. Built on first use:
 * the driver registry imports this module (describeIssues), so reading the drivers while this module
 * loads could meet the registry not yet initialised.
 */
let scanRequests: z.ZodType<ScanRequest> | undefined;

function scanRequestSchema(): z.ZodType<ScanRequest> {
  if (scanRequests !== undefined) return scanRequests;
  const options = DRIVER_MODULES.flatMap((driver) =>
    driver.scan ? [driver.scan.request.extend({ transaction })] : [],
  );
  const drivers = scannableDrivers().join(', ');
  const [first, ...rest] = options;
  const schema: z.ZodType<ScanRequest> = first
    ? z.discriminatedUnion('driver', [first, ...rest], {
        error: (issue) => {
          if (issue.code !== 'invalid_union') return undefined;
          const input: unknown = issue.input;
          const driver =
            typeof input === 'object' && input !== null && 'driver' in input ? input.driver : undefined;
          return driver === undefined
            ? `expected one of ${drivers}`
            : `unknown driver ${JSON.stringify(driver)}: expected one of ${drivers}`;
        },
      })
    : z.never('no driver of this version of fieldbridge can scan');
  scanRequests = schema;
  return schema;
}

export type RequestName = keyof typeof REQUEST_SCHEMAS;
/** Every request name, the drivers' own last. */
export const REQUEST_NAMES: readonly string[] = [...Object.keys(REQUEST_SCHEMAS), ...DRIVER_REQUESTS.keys()];

export type BridgeRequest =
  | {
      [N in RequestName]: { name: N } & Omit<z.output<(typeof REQUEST_SCHEMAS)[N]>, 'transaction'>;
    }[RequestName]
  /** A request of one driver: its fields as the driver's schema returned them, for its `run`. */
  | { name: 'driver'; request: string; driverRequest: DriverRequest; fields: Record<string, unknown> };

export type Parsed<T> =
  { ok: true; value: T; transaction?: Transaction } | { ok: false; error: string; transaction?: Transaction };

/** `{"status":"ok"|"error","data":…,"error":"…","transaction":…}` as published on bridge/response. */
export interface BridgeResponse {
  status: 'ok' | 'error';
  data: unknown;
  error?: string;
  transaction?: Transaction;
}

/** The JSON object in a payload, or why there is none. An empty payload is an empty object. */
export function parseJsonObject(payload: Buffer | string): Parsed<Record<string, unknown>> {
  const size = typeof payload === 'string' ? Buffer.byteLength(payload) : payload.length;
  if (size > MAX_PAYLOAD_BYTES) {
    return { ok: false, error: `payload of ${size} bytes is larger than the ${MAX_PAYLOAD_BYTES} allowed` };
  }
  const text = payload.toString().trim();
  if (text === '') return { ok: true, value: {} };
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    return { ok: false, error: `malformed JSON: ${errorText(error)}` };
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    return {
      ok: false,
      error: `expected a JSON object, got ${Array.isArray(value) ? 'an array' : typeof value}`,
    };
  }
  return { ok: true, value: value as Record<string, unknown> };
}

/** The transaction of a payload when it has a usable one, so even a refused request can be matched. */
function transactionOf(object: Record<string, unknown>): Transaction | undefined {
  const parsed = transaction.safeParse(object.transaction);
  return parsed.success ? parsed.data : undefined;
}

/** The schema of a request (a driver's with `transaction` added), or undefined for an unknown name. */
function requestSchema(name: string): z.ZodType | undefined {
  const driverRequest = DRIVER_REQUESTS.get(name);
  if (driverRequest) return driverRequest.schema.extend({ transaction });
  return (REQUEST_SCHEMAS as Record<string, z.ZodType | undefined>)[name];
}

export function parseRequest(name: string, payload: Buffer | string): Parsed<BridgeRequest> {
  const schema = requestSchema(name);
  const json = parseJsonObject(payload);
  const echo = json.ok ? transactionOf(json.value) : undefined;
  if (!schema) {
    const close = closestMatch(name, REQUEST_NAMES);
    const hint = close ? `did you mean "${close}"?` : `known: ${REQUEST_NAMES.join(', ')}`;
    return { ok: false, error: `unknown request "${name}" (${hint})`, transaction: echo };
  }
  if (!json.ok) return json;
  const result = schema.safeParse(json.value);
  if (!result.success) return { ok: false, error: describeIssues(result.error), transaction: echo };
  const { transaction: _echoed, ...fields } = result.data as Record<string, unknown>;
  const driverRequest = DRIVER_REQUESTS.get(name);
  const value: BridgeRequest = driverRequest
    ? { name: 'driver', request: name, driverRequest, fields }
    : ({ name, ...fields } as BridgeRequest);
  return { ok: true, value, transaction: echo };
}

/**
 * parseRequest() for an entry point whose values all arrive as text (an HTTP query string): a value
 * that its field refuses as text but that reads as a number is passed as that number, so
 * `duration_s=30` means what `"duration_s": 30` means over MQTT, and a wrong value gets the same error
 * either way (`duration_s=900` is too big, `duration_s=soon` is not a number).
 */
export function parseRequestFromText(
  name: string,
  fields: Iterable<[string, string]>,
): Parsed<BridgeRequest> {
  const texts = new Map(fields);
  const shape = fieldSchemas(requestSchema(name), texts);
  const object: Record<string, unknown> = {};
  for (const [key, text] of texts) {
    const field = shape[key];
    const number = text.trim() === '' ? Number.NaN : Number(text);
    // A query's values are text: a field that does not take the text gets the number or the boolean it spells.
    const typed = [
      ...(Number.isFinite(number) ? [number] : []),
      ...(text === 'true' ? [true] : text === 'false' ? [false] : []),
    ];
    object[key] =
      field && !field.safeParse(text).success
        ? (typed.find((value) => field.safeParse(value).success) ?? typed[0] ?? text)
        : text;
  }
  return parseRequest(name, JSON.stringify(object));
}

/** The fields a request's schema takes for these values (a union's: those of the option they pick). */
function fieldSchemas(
  schema: z.core.$ZodType | undefined,
  texts: ReadonlyMap<string, string>,
): Record<string, z.ZodType | undefined> {
  if (schema instanceof z.ZodLazy) return fieldSchemas(schema.unwrap(), texts);
  if (schema instanceof z.ZodObject) return schema.shape as Record<string, z.ZodType | undefined>;
  if (schema instanceof z.ZodDiscriminatedUnion) {
    const key = schema.def.discriminator;
    const picked = schema.options
      .map((option) => fieldSchemas(option, texts))
      .find((shape) => shape[key]?.safeParse(texts.get(key)).success);
    return picked ?? {};
  }
  return {};
}

/** A `set` or `get` command for a device: any JSON object; the driver checks the fields it knows. */
export function parseDeviceCommand(payload: Buffer | string): Parsed<Record<string, unknown>> {
  const json = parseJsonObject(payload);
  if (!json.ok) return json;
  const { transaction: _echoed, ...args } = json.value;
  const echo = transactionOf(json.value);
  if (json.value.transaction !== undefined && echo === undefined) {
    return { ok: false, error: 'transaction: expected a string or a number', transaction: undefined };
  }
  return { ok: true, value: args, transaction: echo };
}

export function okResponse(data: unknown, transaction?: Transaction): BridgeResponse {
  return transaction === undefined ? { status: 'ok', data } : { status: 'ok', data, transaction };
}

export function errorResponse(error: string, transaction?: Transaction): BridgeResponse {
  return transaction === undefined
    ? { status: 'error', data: {}, error }
    : { status: 'error', data: {}, error, transaction };
}
