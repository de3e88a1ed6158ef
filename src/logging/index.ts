// Public surface of the logging module; import from here rather than from the individual files.

export { captureLogs, type LogCapture } from './capture.js';
export {
  closeLogging,
  configureLogging,
  currentLoggingOptions,
  DEFAULT_LOGGING_OPTIONS,
  type LoggingOptions,
} from './core.js';
export { formatDuration } from './duration.js';
export { formatJsonLine, formatLine, formatPrettyLine, type LineFormat, type LogEntry } from './format.js';
export { isLogLevel, LOG_LEVELS, type LogLevel } from './levels.js';
export { getLogger, type Logger, type LogMeta } from './logger.js';
export {
  BurstLog,
  type BurstLogOptions,
  type FailureOptions,
  RepeatedFailureLog,
  type RepeatedFailureLogOptions,
} from './repeat.js';
export { isSecretKey, REDACTED, sanitizeMeta } from './sanitize.js';
export { logTransition, type Transition } from './transition.js';
export type { FileLogOptions } from './transports.js';
