import { type Parsed, parsed, problem, refused } from './errors.js';

// The first steps of reading anything a gateway sends (a UDP datagram or an MQTT payload): strict UTF-8
// (a replacement character would hide garbage, which the SDK's errors="replace" does), then JSON, then an
// object. And the field readers the message parsers share: each says what is wrong, never throws.

export type JsonObject = Record<string, unknown>;

export function isObject(value: unknown): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

const STRICT_UTF8 = new TextDecoder('utf-8', { fatal: true });

/** The JSON object in `payload`, or invalid_utf8 / not_json / not_object. */
export function readJsonObject(payload: Uint8Array | string): Parsed<JsonObject> {
  let text: string;
  if (typeof payload === 'string') text = payload;
  else {
    try {
      text = STRICT_UTF8.decode(payload);
    } catch {
      return refused(problem('invalid_utf8', `payload of ${payload.length} bytes is not valid UTF-8`));
    }
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    return refused(
      problem('not_json', `payload is not JSON (${(error as Error).message}): ${text.slice(0, 80)}`),
    );
  }
  if (!isObject(value)) {
    const what = Array.isArray(value) ? 'an array' : value === null ? 'null' : `a ${typeof value}`;
    return refused(problem('not_object', `payload is JSON but ${what}, not an object`));
  }
  return parsed(value);
}

/** Where a field is read: the message's cmd and the path of the field, for the problem's text. */
export interface FieldContext {
  cmd?: string;
  path: string;
}

function at(context: FieldContext, key: string): string {
  return context.path === '' ? key : `${context.path}.${key}`;
}

function missing<T>(context: FieldContext, key: string): Parsed<T> {
  const field = at(context, key);
  return refused(problem('missing_field', `${field} is missing`, { cmd: context.cmd, field }));
}

function wrongType<T>(context: FieldContext, key: string, wanted: string, value: unknown): Parsed<T> {
  const field = at(context, key);
  return refused(
    problem('wrong_type', `${field} must be ${wanted}, got ${JSON.stringify(value)?.slice(0, 40)}`, {
      cmd: context.cmd,
      field,
    }),
  );
}

export function outOfRange<T>(context: FieldContext, key: string, detail: string): Parsed<T> {
  const field = at(context, key);
  return refused(problem('out_of_range', `${field} ${detail}`, { cmd: context.cmd, field }));
}

/** A string field. */
export function readString(object: JsonObject, key: string, context: FieldContext): Parsed<string> {
  const value = object[key];
  if (value === undefined || value === null) return missing(context, key);
  return typeof value === 'string' ? parsed(value) : wrongType(context, key, 'a string', value);
}

/**
 * An integer field within [min, max]. A decimal string ("3") is accepted, because the SDK reads
 * several such fields with int(...) and the notes cannot say which ones real gateways send as text.
 */
export function readInteger(
  object: JsonObject,
  key: string,
  context: FieldContext,
  min: number,
  max: number,
): Parsed<number> {
  const value = object[key];
  if (value === undefined || value === null) return missing(context, key);
  const number = typeof value === 'string' && /^-?\d+$/.test(value.trim()) ? Number(value) : value;
  if (typeof number !== 'number' || !Number.isInteger(number))
    return wrongType(context, key, 'an integer', value);
  if (number < min || number > max) return outOfRange(context, key, `must be ${min}-${max}, got ${number}`);
  return parsed(number);
}

/** A finite number (or numeric string, as energy values arrive) field. */
export function readNumber(object: JsonObject, key: string, context: FieldContext): Parsed<number> {
  const value = object[key];
  if (value === undefined || value === null) return missing(context, key);
  const number = typeof value === 'string' && value.trim() !== '' ? Number(value) : value;
  if (typeof number !== 'number' || !Number.isFinite(number))
    return wrongType(context, key, 'a number', value);
  return parsed(number);
}

/** A boolean field; 0/1 and "true"/"false" are taken too (the SDK tests truthiness). */
export function readBoolean(object: JsonObject, key: string, context: FieldContext): Parsed<boolean> {
  const value = object[key];
  if (value === undefined || value === null) return missing(context, key);
  const flag = toBoolean(value);
  return flag === undefined ? wrongType(context, key, 'a boolean', value) : parsed(flag);
}

export function toBoolean(value: unknown): boolean | undefined {
  if (typeof value === 'boolean') return value;
  if (value === 0 || value === 1) return value === 1;
  if (typeof value === 'string') {
    const text = value.trim().toLowerCase();
    if (text === 'true' || text === '1') return true;
    if (text === 'false' || text === '0') return false;
  }
  return undefined;
}

export function readArray(object: JsonObject, key: string, context: FieldContext): Parsed<unknown[]> {
  const value = object[key];
  if (value === undefined || value === null) return missing(context, key);
  return Array.isArray(value) ? parsed(value) : wrongType(context, key, 'an array', value);
}

export function readObject(object: JsonObject, key: string, context: FieldContext): Parsed<JsonObject> {
  const value = object[key];
  if (value === undefined || value === null) return missing(context, key);
  return isObject(value) ? parsed(value) : wrongType(context, key, 'an object', value);
}

/** An optional string field: undefined when absent or not a string (display text is never worth a refusal). */
export function optionalString(object: JsonObject, key: string): string | undefined {
  const value = object[key];
  return typeof value === 'string' ? value : undefined;
}

/**
 * JSON as Python's json.dumps writes it (", " and ": " separators, non-ASCII escaped), the bytes the
 * vendor SDK sends. A JSON parser does not care; matching them keeps our datagrams byte-comparable.
 */
export function pythonStyleJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(pythonStyleJson).join(', ')}]`;
  if (isObject(value)) {
    const members = Object.entries(value).filter(([, member]) => member !== undefined);
    return `{${members.map(([key, member]) => `${asciiJson(key)}: ${pythonStyleJson(member)}`).join(', ')}}`;
  }
  return asciiJson(value);
}

function asciiJson(value: unknown): string {
  return (JSON.stringify(value) ?? 'null').replace(
    /[\u007f-\uffff]/g,
    (character) => `\\u${character.charCodeAt(0).toString(16).padStart(4, '0')}`,
  );
}
