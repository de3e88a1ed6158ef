import {
  ConfigError,
  type FieldbridgeConfig,
  formatProblems,
  loadConfigFile,
  loggingOptions,
} from '../config/index.js';
import { configureLogging } from '../logging/index.js';
import { errorText } from '../errorText.js';

// `<base>/bridge/request/config/reload` and the file watch: reads the config file again and applies
// what changed, restarting only the parts it concerns. An invalid file is refused with every problem,
// and the running config stays. Devices, supervision and logging restart only the buses whose settings
// changed; the service sections go to the part that owns them (the gateway's `apply`, see
// liveSettings.ts): `mqtt` reconnects the link, `http` restarts the HTTP server, `persistence`,
// `queue` and `homeassistant` apply in place. A few keys need the process restarted (RESTART_ONLY); a
// change to one of them is refused as a whole, naming the key, and nothing is applied.

/** Sections applied by the running gateway beyond devices, supervision and logging. */
const SERVICE_SECTIONS = ['mqtt', 'persistence', 'queue', 'http', 'homeassistant', 'health'] as const;

/** Keys a running gateway cannot change, and why: changing one needs fieldbridge restarted. */
const RESTART_ONLY: Readonly<Record<string, string>> = {
  'mqtt.base_topic':
    'every topic, the subscriptions, the Last Will and the messages already queued in the outbox are built on it',
  'persistence.path': 'the database is opened once, at start',
  'homeassistant.status_topic': 'the bridge subscribes to it once, at start',
};

/** The changed keys of the service sections, as `section.key` (e.g. `mqtt.server`), in config order. */
export function changedServiceKeys(current: FieldbridgeConfig, next: FieldbridgeConfig): string[] {
  return SERVICE_SECTIONS.flatMap((section) => {
    const before = current[section] as Record<string, unknown>;
    const after = next[section] as Record<string, unknown>;
    const keys = new Set([...Object.keys(before), ...Object.keys(after)]);
    return [...keys]
      .filter((key) => JSON.stringify(before[key]) !== JSON.stringify(after[key]))
      .map((key) => `${section}.${key}`);
  });
}

export type ReloadOutcome = { ok: true; data: Record<string, unknown> } | { ok: false; error: string };

export interface ReloadTarget {
  /**
   * Applies a valid config; `changed` lists its changed service keys (none of them restart-only).
   * Returns what it did; throws, having changed nothing, when the new settings cannot be used.
   */
  apply(next: FieldbridgeConfig, changed: readonly string[]): Promise<Record<string, unknown>>;
}

export class ConfigReloader {
  #current: FieldbridgeConfig;
  /** One reload at a time: the file watch and an MQTT request may ask at once. */
  #running: Promise<unknown> = Promise.resolve();

  constructor(
    private readonly source: string,
    current: FieldbridgeConfig,
    private readonly env: Record<string, string | undefined>,
    private readonly target: ReloadTarget,
  ) {
    this.#current = current;
  }

  reload(): Promise<ReloadOutcome> {
    const outcome = this.#running.then(() => this.#reload());
    this.#running = outcome.catch(() => undefined);
    return outcome;
  }

  async #reload(): Promise<ReloadOutcome> {
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
    const changed = changedServiceKeys(this.#current, next);
    const restartOnly = changed.filter((key) => RESTART_ONLY[key] !== undefined);
    if (restartOnly.length > 0) {
      const reasons = restartOnly.map((key) => `${key}: ${RESTART_ONLY[key] ?? ''}`).join('; ');
      return {
        ok: false,
        error:
          `${restartOnly.join(', ')} changed, which takes effect only when fieldbridge restarts (${reasons}); ` +
          'nothing was changed: restart fieldbridge, or put the old value back to reload the rest',
      };
    }
    let data: Record<string, unknown>;
    try {
      data = await this.target.apply(next, changed);
    } catch (error) {
      return {
        ok: false,
        error: `the new config could not be applied, the running one stays: ${errorText(error)}`,
      };
    }
    configureLogging(loggingOptions(next));
    this.#current = next;
    return { ok: true, data };
  }
}
