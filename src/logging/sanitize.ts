// Turns caller-supplied meta into plain JSON-safe data before anything is written. This is where
// secrets are masked, so every output (console, file, test sink) sees the same redacted value, and
// where odd values (cycles, bigint, Buffers, Errors) are made printable: logging must never throw and
// a gateway running for years must not write a megabyte line because someone logged a big frame.

export type JsonValue = string | number | boolean | null | JsonValue[] | { [key: string]: JsonValue };
export type JsonObject = { [key: string]: JsonValue };

export const REDACTED = '***';

/**
 * Secret key names, compared after lower-casing and dropping `_` and `-`, so `bind_key`, `bindKey`
 * and `BIND-KEY` are all caught. Compound names that end in one (`mqttPassword`, `access_token`)
 * are caught too: a false positive costs a debug detail, a false negative leaks a credential.
 */
const SECRET_KEY_WORDS = ['password', 'token', 'bindkey', 'secret', 'authorization'];

const MAX_DEPTH = 8;
const MAX_STRING_CHARS = 4_096;
const MAX_ARRAY_ITEMS = 100;
const MAX_BINARY_BYTES = 512;

export function isSecretKey(key: string): boolean {
  const normalized = key.toLowerCase().replace(/[_-]/g, '');
  return SECRET_KEY_WORDS.some((word) => normalized.endsWith(word));
}

/** `mqtt://user:pw@host` → `mqtt://user:***@host`; broker URLs are the likeliest secret inside a string. */
export function maskUrlCredentials(text: string): string {
  if (!text.includes('@') || !text.includes('://')) return text;
  return text.replace(/(\/\/[^/\s:@]*:)[^/\s@]+@/g, `$1${REDACTED}@`);
}

export function sanitizeText(text: string): string {
  return truncate(maskUrlCredentials(text));
}

export function sanitizeMeta(meta: Readonly<Record<string, unknown>> | undefined): JsonObject {
  if (meta === undefined || meta === null) return {};
  // A bare Error passed as meta still deserves its message and stack rather than `{}`.
  if (meta instanceof Error) return { err: toJson(meta, 0, new Set()) ?? null };
  return objectToJson(meta, 0, new Set());
}

function toJson(value: unknown, depth: number, ancestors: Set<object>): JsonValue | undefined {
  switch (typeof value) {
    case 'string':
      return sanitizeText(value);
    case 'number':
      return Number.isFinite(value) ? value : String(value);
    case 'boolean':
      return value;
    case 'bigint':
      return value.toString();
    case 'undefined':
      return undefined;
    case 'symbol':
      return value.toString();
    case 'function':
      return `[Function ${value.name || 'anonymous'}]`;
  }
  if (value === null) return null;
  const object = value as object;
  if (object instanceof Date) return Number.isNaN(object.getTime()) ? 'Invalid Date' : object.toISOString();
  if (object instanceof Uint8Array) return binaryToHex(object);
  if (ancestors.has(object)) return '[Circular]';
  if (depth >= MAX_DEPTH) return Array.isArray(object) ? '[Array]' : '[Object]';

  ancestors.add(object);
  try {
    if (Array.isArray(object)) return arrayToJson(object, depth, ancestors);
    if (object instanceof Set) return arrayToJson([...object], depth, ancestors);
    if (object instanceof Map) return mapToJson(object, depth, ancestors);
    if (object instanceof Error) return errorToJson(object, depth, ancestors);
    return objectToJson(object as Record<string, unknown>, depth, ancestors);
  } finally {
    ancestors.delete(object);
  }
}

function objectToJson(object: Readonly<Record<string, unknown>>, depth: number, ancestors: Set<object>) {
  const result: JsonObject = {};
  for (const key of Object.keys(object)) {
    if (isSecretKey(key)) {
      result[key] = REDACTED;
      continue;
    }
    let value: unknown;
    try {
      value = object[key];
    } catch {
      value = '[unreadable]'; // a throwing getter must not take the log line (or the caller) down
    }
    const converted = toJson(value, depth + 1, ancestors);
    if (converted !== undefined) result[key] = converted;
  }
  return result;
}

function arrayToJson(items: readonly unknown[], depth: number, ancestors: Set<object>): JsonValue[] {
  const shown = items.slice(0, MAX_ARRAY_ITEMS).map((item) => toJson(item, depth + 1, ancestors) ?? null);
  if (items.length > MAX_ARRAY_ITEMS) shown.push(`…(+${items.length - MAX_ARRAY_ITEMS} more)`);
  return shown;
}

function mapToJson(map: ReadonlyMap<unknown, unknown>, depth: number, ancestors: Set<object>): JsonObject {
  const asObject: Record<string, unknown> = {};
  for (const [key, value] of map) asObject[String(key)] = value;
  return objectToJson(asObject, depth, ancestors);
}

function errorToJson(error: Error, depth: number, ancestors: Set<object>): JsonObject {
  // Own enumerable props carry the useful bits of Node errors (code, errno, syscall, address) and
  // go through the same redaction, since client libraries like to attach their whole config.
  const result: JsonObject = { name: error.name, message: sanitizeText(error.message) };
  Object.assign(result, objectToJson(error as unknown as Record<string, unknown>, depth, ancestors));
  if (error.stack !== undefined) result.stack = sanitizeText(error.stack);
  if (error.cause !== undefined) result.cause = toJson(error.cause, depth + 1, ancestors) ?? null;
  return result;
}

function binaryToHex(bytes: Uint8Array): string {
  const hex = Buffer.from(bytes.buffer, bytes.byteOffset, Math.min(bytes.length, MAX_BINARY_BYTES));
  const suffix = bytes.length > MAX_BINARY_BYTES ? `…(+${bytes.length - MAX_BINARY_BYTES} bytes)` : '';
  return hex.toString('hex') + suffix;
}

function truncate(text: string): string {
  if (text.length <= MAX_STRING_CHARS) return text;
  return `${text.slice(0, MAX_STRING_CHARS)}…(+${text.length - MAX_STRING_CHARS} chars)`;
}
