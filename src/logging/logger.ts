// The Logger handed to every component. There may be 10,000 device loggers, so an instance is just
// its namespace plus a cached threshold; the level is re-resolved only after configureLogging.

import { currentGeneration, emit, thresholdFor } from './core.js';
import { LEVEL_RANK, type LogLevel } from './levels.js';

export type LogMeta = Record<string, unknown>;

export interface Logger {
  /** Dotted, e.g. `device.heat1` or `supervisor.mbus:/dev/ttyUSB0`. */
  readonly namespace: string;
  error(message: string, meta?: LogMeta): void;
  warn(message: string, meta?: LogMeta): void;
  info(message: string, meta?: LogMeta): void;
  debug(message: string, meta?: LogMeta): void;
  /** Guard for expensive meta: `if (log.isEnabled('debug')) log.debug('frame', { hex: dump() })`. */
  isEnabled(level: LogLevel): boolean;
  /** Logger for `${namespace}.${suffix}`. */
  child(suffix: string): Logger;
}

class NamespacedLogger implements Logger {
  readonly namespace: string;
  #generation = -1;
  #threshold = 0;

  constructor(namespace: string) {
    this.namespace = namespace;
  }

  isEnabled(level: LogLevel): boolean {
    const generation = currentGeneration();
    if (generation !== this.#generation) {
      this.#threshold = thresholdFor(this.namespace);
      this.#generation = generation;
    }
    return LEVEL_RANK[level] <= this.#threshold;
  }

  error(message: string, meta?: LogMeta): void {
    if (this.isEnabled('error')) emit('error', this.namespace, message, meta);
  }

  warn(message: string, meta?: LogMeta): void {
    if (this.isEnabled('warn')) emit('warn', this.namespace, message, meta);
  }

  info(message: string, meta?: LogMeta): void {
    if (this.isEnabled('info')) emit('info', this.namespace, message, meta);
  }

  debug(message: string, meta?: LogMeta): void {
    if (this.isEnabled('debug')) emit('debug', this.namespace, message, meta);
  }

  child(suffix: string): Logger {
    return new NamespacedLogger(`${this.namespace}.${suffix}`);
  }
}

/**
 * Returns a logger for a dotted namespace. Cheap enough to call per device; instances are not
 * cached, so namespaces of removed devices leave nothing behind.
 */
export function getLogger(namespace: string): Logger {
  return new NamespacedLogger(namespace);
}
