import {
  ConfigError,
  type FieldbridgeConfig,
  formatProblems,
  loadConfigFile,
  loggingOptions,
} from '../config/index.js';
import { configureLogging } from '../logging/index.js';

// `<base>/bridge/request/config/reload`: reads the config file again and applies what can change
// while running. An invalid file is refused with every problem, and the running config stays. The
// devices, supervision and logging settings apply at once, restarting only the buses whose settings
// changed; the connection, storage and HTTP settings need a restart, which the answer says.

/** Sections read once at start: changing them needs a restart of the gateway. */
const RESTART_ONLY = ['mqtt', 'persistence', 'queue', 'http', 'homeassistant', 'health'] as const;

export type ReloadOutcome = { ok: true; data: Record<string, unknown> } | { ok: false; error: string };

export interface ReloadTarget {
  /** Applies a valid config whose restart-only sections are unchanged; returns what it did. */
  apply(next: FieldbridgeConfig): Record<string, unknown>;
}

export class ConfigReloader {
  #current: FieldbridgeConfig;

  constructor(
    private readonly source: string,
    current: FieldbridgeConfig,
    private readonly env: Record<string, string | undefined>,
    private readonly target: ReloadTarget,
  ) {
    this.#current = current;
  }

  async reload(): Promise<ReloadOutcome> {
    if (this.source.startsWith('(')) {
      return { ok: false, error: `there is no config file to reload (running with ${this.source})` };
    }
    let next: FieldbridgeConfig;
    try {
      next = await loadConfigFile(this.source, this.env);
    } catch (error) {
      if (!(error instanceof ConfigError)) throw error;
      return {
        ok: false,
        error: `the new config is invalid, the running one stays:\n${formatProblems(error.problems)}`,
      };
    }
    const needRestart = RESTART_ONLY.filter(
      (section) => JSON.stringify(next[section]) !== JSON.stringify(this.#current[section]),
    );
    if (needRestart.length > 0) {
      return {
        ok: false,
        error: `${needRestart.join(', ')} changed: these take effect only when fieldbridge restarts; nothing was changed`,
      };
    }
    configureLogging(loggingOptions(next));
    const data = this.target.apply(next);
    this.#current = next;
    return { ok: true, data };
  }
}
