import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe } from 'vitest';
import { parseConfig } from '../../src/config/index.js';
import { findDbusDaemon } from '../../src/drivers/shared/bluez/simulator/daemon.js';
import type { BluezSimulator } from '../../src/drivers/shared/bluez/simulator/simulator.js';
import { runGateway } from '../../src/gateway.js';
import { Subscriber } from './gatewayRig.js';
import { describeWithMosquitto, Mosquitto } from './mosquitto.js';

// The rig of the end-to-end tests on a fake BlueZ (BLE, Renogy): the gateway in this process, talking
// over D-Bus to a fake BlueZ on a private dbus-daemon exactly as to the system bus, and mosquitto. One
// broker and one temp directory per test file; per run, a fresh base topic and database, the test's
// fake BlueZ started, a subscriber recording the base topic (and Home Assistant's discovery), and the
// gateway on the config lines every such test shares plus the test's own. What a run started is
// stopped after each test, in the order it depends on: the gateway, the fake BlueZ, the subscribers.

export const HAVE_DBUS = findDbusDaemon() !== undefined;

/** `describe` that skips, saying why, when dbus-daemon (or mosquitto) is not installed. */
export function describeWithBluez(name: string, body: () => void): void {
  if (HAVE_DBUS) return describeWithMosquitto(name, body);
  console.warn(`skipping "${name}": dbus-daemon is not installed`);
  describe.skip(name, body);
}

export interface BluezRunOptions {
  /** The run's fake BlueZ, started before anything else; none: the config's simulated line starts one. */
  simulator?: BluezSimulator | undefined;
  /** The run's base topic; `<prefix><run number>` when absent. */
  base?: string;
  /** What the subscriber records; the base topic and Home Assistant's discovery when absent. */
  filters?: (base: string) => string[];
  /** The config after the mqtt, persistence and logging lines, made once the fake BlueZ runs (its address). */
  config: () => readonly string[];
}

export interface BluezRun {
  sub: Subscriber;
  base: string;
}

export class BluezGatewayRig {
  #broker: Mosquitto | undefined;
  #dir = '';
  #runs = 0;
  #simulator: BluezSimulator | undefined;
  #stop: AbortController | undefined;
  #running: Promise<number> | undefined;
  readonly #subscribers: Subscriber[] = [];

  /** `prefix` names the temp directory and the base topics of the runs. */
  constructor(readonly prefix: string) {}

  get broker(): Mosquitto {
    if (this.#broker === undefined) throw new Error('the broker starts in beforeAll (call register())');
    return this.#broker;
  }

  /** Registers the broker's start, the stop of each run and the final clean-up on the enclosing describe. */
  register(): this {
    beforeAll(async () => {
      this.#broker = await Mosquitto.start();
      this.#dir = mkdtempSync(join(tmpdir(), `fieldbridge-e2e-${this.prefix}-`));
    });
    afterEach(() => this.stopRun());
    afterAll(async () => {
      await this.stopRun();
      await this.#broker?.dispose();
      rmSync(this.#dir, { recursive: true, force: true });
    });
    return this;
  }

  /** The fake BlueZ started, the subscriber recording, and the gateway running on the shared config plus the test's. */
  async run(options: BluezRunOptions): Promise<BluezRun> {
    this.#runs += 1;
    const base = options.base ?? `${this.prefix}${this.#runs}`;
    if (options.simulator) {
      this.#simulator = options.simulator;
      await options.simulator.start();
    }
    const filters = options.filters?.(base) ?? [`${base}/#`, 'homeassistant/+/+/+/config'];
    const sub = await Subscriber.start(this.broker.url, filters);
    this.#subscribers.push(sub);
    const config = parseConfig(
      [
        `mqtt: { server: ${this.broker.url}, base_topic: ${base} }`,
        `persistence: { path: ${join(this.#dir, `db-${this.#runs}`, 'fieldbridge.db')} }`,
        'logging: { level: warn }',
        ...options.config(),
      ].join('\n'),
      {},
      '(test)',
    );
    const stop = new AbortController();
    this.#stop = stop;
    this.#running = runGateway(config, { configSource: '(test)', signal: stop.signal });
    return { sub, base };
  }

  /** Stops what the last run started (idempotent). */
  async stopRun(): Promise<void> {
    this.#stop?.abort();
    await this.#running;
    this.#stop = undefined;
    this.#running = undefined;
    await this.#simulator?.stop();
    this.#simulator = undefined;
    for (const subscriber of this.#subscribers.splice(0)) await subscriber.close().catch(() => {});
  }
}
