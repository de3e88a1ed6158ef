// Test helper: routes entries into an array instead of the console, so a test asserts exactly what
// was logged (after level filtering and redaction) without parsing stdout.

import {
  configureLogging,
  currentLoggingOptions,
  DEFAULT_LOGGING_OPTIONS,
  type LoggingOptions,
} from './core.js';
import { formatLine, type LineFormat, type LogEntry } from './format.js';

export interface LogCapture {
  readonly entries: LogEntry[];
  /** The entries rendered as lines (no colour), in the captured format unless told otherwise. */
  lines(format?: LineFormat): string[];
  clear(): void;
  /** Restores the configuration that was in force before captureLogs(). */
  stop(): void;
}

/** Reconfigures logging (defaults + `overrides`, console off) and collects every entry. */
export function captureLogs(overrides: Partial<LoggingOptions> = {}): LogCapture {
  const previous = currentLoggingOptions();
  const entries: LogEntry[] = [];
  const options: LoggingOptions = {
    ...DEFAULT_LOGGING_OPTIONS,
    console: false,
    ...overrides,
    sink: (entry) => {
      entries.push(entry);
      overrides.sink?.(entry);
    },
  };
  configureLogging(options);
  return {
    entries,
    lines: (format = options.format) => entries.map((entry) => formatLine(entry, format)),
    clear: () => {
      entries.length = 0;
    },
    stop: () => configureLogging(previous),
  };
}
