// Process-wide logging state: the active options, the level table and the one winston logger that
// fans entries out to the transports. Loggers handed out by getLogger() only hold their namespace and
// a cached threshold; everything else lives here, once.

import winston from 'winston';
import type { LineFormat, LogEntry } from './format.js';
import { LevelTable, type LogLevel } from './levels.js';
import type { RotatingFileTransport } from './rotatingFile.js';
import { sanitizeMeta, sanitizeText } from './sanitize.js';
import {
  createConsoleTransport,
  createFileTransport,
  ENTRY,
  type FileLogOptions,
  fileTransportKey,
  type WinstonTransport,
} from './transports.js';
import { errorText } from '../errorText.js';

export interface LoggingOptions {
  level: LogLevel;
  /** Per-namespace levels; the longest whole-segment prefix of a logger's namespace wins. */
  namespaces: Record<string, LogLevel>;
  format: LineFormat;
  file?: FileLogOptions;
  /** Default interval between "still failing" summaries of a RepeatedFailureLog. */
  repeatSummaryMs: number;
  /** Set to false to drop console output (tests). Default true. */
  console?: boolean;
  /** Console lines go here instead of stdout, e.g. stderr or a test stream; colour follows its isTTY. */
  consoleStream?: NodeJS.WritableStream;
  /** Receives every entry that passes the level check, synchronously and already redacted (tests). */
  sink?: (entry: LogEntry) => void;
  /** Clock for timestamps; tests pin it. */
  now?: () => number;
}

export const DEFAULT_LOGGING_OPTIONS: Readonly<LoggingOptions> = Object.freeze({
  level: 'info',
  namespaces: {},
  format: 'pretty',
  repeatSummaryMs: 5 * 60_000,
});

interface Delivery {
  winstonLogger: winston.Logger;
  console?: WinstonTransport;
  file?: { key: string; transport: RotatingFileTransport };
}

let options: LoggingOptions = DEFAULT_LOGGING_OPTIONS;
let levelTable = new LevelTable(options.level, options.namespaces);
/** Bumped on every configureLogging so loggers know their cached threshold is stale. */
let generation = 0;
/** Built on the first entry (or by configureLogging), so importing this module opens nothing. */
let delivery: Delivery | undefined;

/** Applies (or re-applies, on a config reload) the logging configuration. Throws on invalid options. */
export function configureLogging(next: LoggingOptions): void {
  const nextTable = new LevelTable(next.level, next.namespaces);
  // Transports are built before anything is swapped, so invalid file settings leave the old setup
  // working. An unwritable file does not throw: the file transport reports it and keeps retrying.
  delivery = rebuildDelivery(delivery, next);
  options = next;
  levelTable = nextTable;
  generation += 1;
}

/** The options currently in force (the defaults until configureLogging is called). */
export function currentLoggingOptions(): Readonly<LoggingOptions> {
  return options;
}

export function currentGeneration(): number {
  return generation;
}

export function thresholdFor(namespace: string): number {
  return levelTable.thresholdFor(namespace);
}

export function configuredRepeatSummaryMs(): number {
  return options.repeatSummaryMs;
}

/** Flushes and closes the transports (graceful shutdown). Logging afterwards reopens them. */
export async function closeLogging(timeoutMs = 5_000): Promise<void> {
  const closing = delivery;
  delivery = undefined;
  if (closing === undefined) return;
  // A wedged disk must not hang shutdown forever.
  const deadline = Date.now() + timeoutMs;
  const { winstonLogger } = closing;
  // winston ends its transports as soon as its own input is done, dropping entries still queued
  // for a busy transport ("write after end"), and those are the last lines before a shutdown.
  while (winstonLogger.writableLength + winstonLogger.readableLength > 0 && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
  await new Promise<void>((resolve) => {
    const timer = setTimeout(resolve, Math.max(0, deadline - Date.now()));
    timer.unref();
    winstonLogger.once('finish', () => {
      clearTimeout(timer);
      resolve();
    });
    winstonLogger.end();
  });
  // Normally already done by the end() above; if the deadline cut that short, at least every line the
  // file transport received is synced and its descriptor closed.
  closing.file?.transport.close();
}

/** The open file transport, if any (tests). */
export function activeFileTransport(): RotatingFileTransport | undefined {
  return delivery?.file?.transport;
}

/** Called by loggers after their level check passed. */
export function emit(
  level: LogLevel,
  namespace: string,
  message: string,
  meta?: Record<string, unknown>,
): void {
  const entry: LogEntry = {
    ts: new Date(options.now?.() ?? Date.now()).toISOString(),
    level,
    ns: namespace,
    msg: sanitizeText(String(message)),
    meta: sanitizeMeta(meta),
  };
  options.sink?.(entry);
  try {
    const active = ensureDelivery();
    // A winston logger without transports complains on stderr for every entry; skip it instead.
    if (active.console === undefined && active.file === undefined) return;
    active.winstonLogger.log({ level, message: entry.msg, [ENTRY]: entry });
  } catch (error) {
    reportLoggingFailure(error);
  }
}

/** Reopens the transports lazily (first entry, or after closeLogging). */
function ensureDelivery(): Delivery {
  if (delivery !== undefined) return delivery;
  try {
    delivery = rebuildDelivery(undefined, options);
  } catch (error) {
    // Not expected (the options were validated when configured, and the file transport reports its
    // own I/O failures), but whatever it is, keep the console going.
    reportLoggingFailure(error);
    delivery = rebuildDelivery(undefined, { ...options, file: undefined });
  }
  return delivery;
}

function rebuildDelivery(current: Delivery | undefined, next: LoggingOptions): Delivery {
  const keepFile = next.file !== undefined && current?.file?.key === fileTransportKey(next.file);
  const file = keepFile
    ? current?.file
    : next.file && {
        key: fileTransportKey(next.file),
        transport: createFileTransport(next.file, reportLoggingFailure),
      };
  const consoleTransport =
    next.console === false ? undefined : createConsoleTransport(next.format, next.consoleStream);

  const winstonLogger = current?.winstonLogger ?? createWinstonLogger();
  // remove() unpipes, and winston closes an unpiped transport, which syncs and closes a replaced file.
  if (current?.console) winstonLogger.remove(current.console);
  if (current?.file && !keepFile) winstonLogger.remove(current.file.transport);
  if (consoleTransport) winstonLogger.add(consoleTransport);
  if (file && !keepFile) winstonLogger.add(file.transport);
  return { winstonLogger, console: consoleTransport, file };
}

function createWinstonLogger(): winston.Logger {
  const winstonLogger = winston.createLogger({
    // Filtering happened in our loggers already, and each transport renders its own line.
    level: 'debug',
    format: winston.format((info) => info)(),
    exitOnError: false,
  });
  // Without a listener a transport error (disk full, permissions) would crash the gateway.
  winstonLogger.on('error', reportLoggingFailure);
  return winstonLogger;
}

const FAILURE_REPORT_EVERY_MS = 60_000;
let lastFailureReportAt = Number.NEGATIVE_INFINITY;
let unreportedFailures = 0;

/** Logging failures go straight to stderr, at most once a minute, since the logger itself is broken. */
function reportLoggingFailure(error: unknown): void {
  unreportedFailures += 1;
  const now = Date.now();
  if (now - lastFailureReportAt < FAILURE_REPORT_EVERY_MS) return;
  lastFailureReportAt = now;
  const detail = errorText(error);
  process.stderr.write(`fieldbridge logging failed (${unreportedFailures}x since last report): ${detail}\n`);
  unreportedFailures = 0;
}
