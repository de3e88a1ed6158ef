// Builds the winston transports. Entries are filtered and rendered by this module, so winston is only
// the delivery layer: each transport's format just turns the LogEntry we attached into the line.

import path from 'node:path';
import winston from 'winston';
import { formatJsonLine, formatLine, type LineFormat, type LogEntry } from './format.js';
import { RotatingFileTransport } from './rotatingFile.js';

export type WinstonTransport = winston.transport;

/** The entry rides on the winston info object under a private key, untouched by winston itself. */
export const ENTRY = Symbol('fieldbridge.logEntry');
/** triple-beam's MESSAGE: the finished string that winston's transports write out. */
const MESSAGE = Symbol.for('message');

export interface FileLogOptions {
  path: string;
  /** Size at which the file is rotated; fractions are fine (0.5 = 512 KiB). */
  maxSizeMb: number;
  /**
   * Files kept in total, the live one included: `fieldbridge.log`, then `fieldbridge.log.1` (newest
   * rotated) up to `fieldbridge.log.<maxFiles-1>`; older ones are deleted. With 1 there is no history:
   * the file starts over empty whenever it is full.
   */
  maxFiles: number;
}

function lineFormat(render: (entry: LogEntry) => string) {
  return winston.format((info) => {
    info[MESSAGE] = render(info[ENTRY] as LogEntry);
    return info;
  })();
}

/** Pretty or JSON lines on stdout (or on `stream`, for tests and for redirecting to stderr). */
export function createConsoleTransport(format: LineFormat, stream?: NodeJS.WritableStream): WinstonTransport {
  const target = stream ?? process.stdout;
  // Escape codes in a file or in journald are noise, so colour only a terminal; NO_COLOR is the
  // common convention for turning it off even there.
  const colour =
    format === 'pretty' && (target as { isTTY?: boolean }).isTTY === true && !process.env.NO_COLOR;
  const transportFormat = lineFormat((entry) => formatLine(entry, format, colour));
  if (stream !== undefined)
    return new winston.transports.Stream({ stream, format: transportFormat, eol: '\n' });
  // Every level goes to stdout: one stream keeps the lines in order for whatever collects them.
  return new winston.transports.Console({ format: transportFormat, eol: '\n' });
}

/** Identity of a file configuration; a reload with the same one keeps the open transport. */
export function fileTransportKey(file: FileLogOptions): string {
  return `${path.resolve(file.path)}|${maxSizeBytes(file)}|${file.maxFiles}`;
}

/**
 * Always JSON lines, rotated by size, never dropping a line (see rotatingFile.ts). I/O failures go to
 * `onError` and never throw; only invalid settings do.
 */
export function createFileTransport(
  file: FileLogOptions,
  onError: (error: Error) => void,
): RotatingFileTransport {
  validateFileOptions(file);
  return new RotatingFileTransport({
    filename: path.resolve(file.path),
    maxSizeBytes: maxSizeBytes(file),
    maxFiles: file.maxFiles,
    format: lineFormat(formatJsonLine),
    onError,
    lostLinesNotice: (lost) =>
      formatJsonLine({
        ts: new Date().toISOString(),
        level: 'warn',
        ns: 'logging',
        msg: 'log file was not writable for a while; lines were lost here',
        meta: { lost },
      }),
  });
}

function maxSizeBytes(file: FileLogOptions): number {
  return Math.max(1, Math.round(file.maxSizeMb * 1024 * 1024));
}

function validateFileOptions(file: FileLogOptions): void {
  if (typeof file.path !== 'string' || file.path.trim() === '') {
    throw new Error('logging: file.path must be a non-empty path');
  }
  if (!Number.isFinite(file.maxSizeMb) || file.maxSizeMb <= 0) {
    throw new Error(`logging: file.maxSizeMb must be > 0, got ${file.maxSizeMb}`);
  }
  if (!Number.isInteger(file.maxFiles) || file.maxFiles < 1) {
    throw new Error(`logging: file.maxFiles must be an integer >= 1, got ${file.maxFiles}`);
  }
}
