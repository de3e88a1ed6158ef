// The two line shapes. Pure functions of a LogEntry so the winston formats, the test capture and
// anything else render identically.

import type { LogLevel } from './levels.js';
import type { JsonObject, JsonValue } from './sanitize.js';

/** One log record after level filtering and redaction: exactly what the transports render. */
export interface LogEntry {
  /** ISO-8601 UTC timestamp. */
  ts: string;
  level: LogLevel;
  ns: string;
  msg: string;
  /** Already redacted and JSON-safe. */
  meta: JsonObject;
}

export type LineFormat = 'pretty' | 'json';

const RESERVED_JSON_KEYS = new Set(['ts', 'level', 'ns', 'msg']);

/** `{"ts","level","ns","msg",...meta}`; a meta key that collides with a core field is kept as `meta_<key>`. */
export function formatJsonLine(entry: LogEntry): string {
  const line: JsonObject = { ts: entry.ts, level: entry.level, ns: entry.ns, msg: entry.msg };
  for (const [key, value] of Object.entries(entry.meta)) {
    line[RESERVED_JSON_KEYS.has(key) ? `meta_${key}` : key] = value;
  }
  return JSON.stringify(line);
}

const LEVEL_LABEL: Readonly<Record<LogLevel, string>> = {
  error: 'ERROR',
  warn: 'WARN ',
  info: 'INFO ',
  debug: 'DEBUG',
};

const LEVEL_COLOUR: Readonly<Record<LogLevel, string>> = {
  error: '\x1b[31m',
  warn: '\x1b[33m',
  info: '\x1b[32m',
  debug: '\x1b[90m',
};
const RESET = '\x1b[0m';
const DIM = '\x1b[2m';

/** `2026-11-22T03:41:00.123Z INFO  [device.heat1] message key=value ...`, always a single line. */
export function formatPrettyLine(entry: LogEntry, colour = false): string {
  const label = colour
    ? `${LEVEL_COLOUR[entry.level]}${LEVEL_LABEL[entry.level]}${RESET}`
    : LEVEL_LABEL[entry.level];
  let line = `${entry.ts} ${label} [${escapeControlChars(entry.ns)}] ${escapeControlChars(entry.msg)}`;
  const pairs = Object.entries(entry.meta).map(([key, value]) => `${key}=${formatPrettyValue(value)}`);
  if (pairs.length > 0) line += colour ? ` ${DIM}${pairs.join(' ')}${RESET}` : ` ${pairs.join(' ')}`;
  return line;
}

export function formatLine(entry: LogEntry, format: LineFormat, colour = false): string {
  return format === 'json' ? formatJsonLine(entry) : formatPrettyLine(entry, colour);
}

/** Bare words stay bare; anything that could be misread when splitting on spaces/`=` is JSON-quoted. */
function formatPrettyValue(value: JsonValue): string {
  if (typeof value === 'string') return /^[^\s"'=\\\p{Cc}]+$/u.test(value) ? value : JSON.stringify(value);
  if (isErrorJson(value)) return JSON.stringify(`${value.name}: ${value.message}`);
  return JSON.stringify(value);
}

// The stack stays in the JSON/file output; the human line gets the one-line gist.
function isErrorJson(value: JsonValue): value is { name: string; message: string } {
  return (
    typeof value === 'object' &&
    value !== null &&
    !Array.isArray(value) &&
    typeof value.name === 'string' &&
    typeof value.message === 'string' &&
    typeof value.stack === 'string'
  );
}

const CONTROL_CHAR_ESCAPES: Readonly<Record<string, string>> = { '\n': '\\n', '\r': '\\r', '\t': ' ' };

// A message with a newline would forge a second, fake log line.
function escapeControlChars(text: string): string {
  return text.replace(
    /\p{Cc}/gu,
    (char) => CONTROL_CHAR_ESCAPES[char] ?? `\\u${char.charCodeAt(0).toString(16).padStart(4, '0')}`,
  );
}
