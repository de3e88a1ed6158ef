import { appendFileSync, mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort, Mosquitto } from '../../bench/broker.js';
import { sensorSpec } from '../../src/drivers/shared/bluez/simulator/sensors.js';
import { BluezSimulator } from '../../src/drivers/shared/bluez/simulator/simulator.js';
import { bt1Controller, proBattery } from '../../src/drivers/renogy/simulator/devices.js';
import { defaultMeters } from '../../src/drivers/mbus/simulator/meters.js';
import { MbusSimulator } from '../../src/drivers/mbus/simulator/simulator.js';
import { BrokerGate } from './gate.js';
import { type GatewayCrash, GatewayProcess } from './gateway.js';
import { Recorder } from './recorder.js';
import { errorText } from '../../src/errorText.js';

// Everything a soak runs, started in order and stopped in reverse, whatever happened: mosquitto and the
// gate in front of it, the recorder, the M-Bus simulator (socat pty), the fake BlueZ (its own
// dbus-daemon) and the gateway process. `stop()` is safe to call twice and from a signal handler.

export const METER_COUNT = 3;
/** The simulated DALI adapter's lamps when it is scanned on an empty database (see openBus.ts). */
export const LAMP_ADDRESSES = [0, 1, 2, 3];

export interface RigOptions {
  seed: number;
  ble: boolean;
  /** Work directory (config, database, logs); default a new temp directory. */
  dir?: string;
  /** Progress lines (also written to soak.log). */
  print?: (line: string) => void;
  onCrash: (crash: GatewayCrash) => void;
}

export interface SoakRig {
  readonly dir: string;
  readonly base: string;
  readonly origin: number;
  readonly broker: Mosquitto;
  readonly gate: BrokerGate;
  readonly recorder: Recorder;
  readonly mbus: MbusSimulator;
  readonly bluez: BluezSimulator | undefined;
  readonly gateway: GatewayProcess;
  log(line: string): void;
}

/** The Renogy devices on the fake BlueZ adapter (the soak's faults pick them by MAC). */
export const RENOGY_DEVICES = [
  { id: 'renogy_solar', mac: 'C4:D3:6A:00:50:01', virtual: bt1Controller },
  { id: 'renogy_battery', mac: 'C4:D3:6A:00:50:02', virtual: proBattery },
] as const;

function gatewayConfig(options: {
  gatePort: number;
  base: string;
  dir: string;
  mbusLink: string;
  bleBus: string | undefined;
}): string {
  const lines = [
    // Production defaults everywhere recovery is concerned (backoffs, ladders, breaker): the figures are
    // those of a real installation. Only the polls are fast, so that there are many readings to lose.
    `mqtt: { server: 'mqtt://127.0.0.1:${options.gatePort}', base_topic: ${options.base}, client_id: soak-gateway }`,
    `persistence: { path: '${join(options.dir, 'fieldbridge.db')}' }`,
    'logging: { level: info, format: pretty }',
    'health: { interval_ms: 1000 }',
    'http: { enabled: false }',
    'homeassistant: { enabled: true }',
    'mbus:',
    `  - { port: '${options.mbusLink}', baud: 38400, poll_interval_ms: 1000 }`,
    'dali:',
    '  - { transport: simulated, self_test_interval_ms: 1000 }',
  ];
  if (options.bleBus !== undefined) {
    lines.push(
      'ble:',
      `  - { adapter: hci0, bus_address: '${options.bleBus}', offline_after_ms: 60000,`,
      '      watchdog: { interval_ms: 2000, stuck_after_ms: 8000, verify_after_ms: 4000 } }',
      'devices:',
      ...RENOGY_DEVICES.map(
        ({ id, mac }) =>
          `  - { id: ${id}, driver: renogy, mac: '${mac}', bus_address: '${options.bleBus}', poll_interval_ms: 5000 }`,
      ),
    );
  }
  return `${lines.join('\n')}\n`;
}

export class Rig implements SoakRig {
  readonly dir: string;
  readonly base = 'soak';
  readonly origin = Date.now();
  readonly #print: (line: string) => void;
  #broker: Mosquitto | undefined;
  #gate: BrokerGate | undefined;
  #recorder: Recorder | undefined;
  #mbus: MbusSimulator | undefined;
  #bluez: BluezSimulator | undefined;
  #gateway: GatewayProcess | undefined;
  #stopping: Promise<void> | undefined;

  constructor(readonly options: RigOptions) {
    this.dir = options.dir ?? mkdtempSync(join(tmpdir(), 'fieldbridge-soak-'));
    mkdirSync(this.dir, { recursive: true });
    this.#print = options.print ?? (() => undefined);
  }

  get broker(): Mosquitto {
    return this.#need(this.#broker, 'broker');
  }
  get gate(): BrokerGate {
    return this.#need(this.#gate, 'gate');
  }
  get recorder(): Recorder {
    return this.#need(this.#recorder, 'recorder');
  }
  get mbus(): MbusSimulator {
    return this.#need(this.#mbus, 'M-Bus simulator');
  }
  get bluez(): BluezSimulator | undefined {
    return this.#bluez;
  }
  get gateway(): GatewayProcess {
    return this.#need(this.#gateway, 'gateway');
  }

  log(line: string): void {
    const stamped = `+${((Date.now() - this.origin) / 1000).toFixed(1).padStart(7)} s  ${line}`;
    appendFileSync(join(this.dir, 'soak.log'), `${stamped}\n`);
    this.#print(stamped);
  }

  async start(): Promise<void> {
    const simLog = (who: string) => (line: string) => {
      // Every poll of a secondary-addressed meter is a select: one line per poll says nothing.
      if (!line.startsWith('select ')) appendFileSync(join(this.dir, 'soak.log'), `${who}: ${line}\n`);
    };
    // The recorder must never be the one dropping messages: mosquitto's default queue per client is
    // 1,000 QoS 1 messages, which the backlog after a long outage can exceed.
    this.#broker = await Mosquitto.start({ config: ['max_queued_messages 0', 'max_queued_bytes 0'] });
    this.#gate = new BrokerGate(await freePort(), this.#broker.port);
    await this.#gate.open();
    this.#recorder = await Recorder.start(this.#broker.url, this.base);
    this.log(`mosquitto on ${this.#broker.port}, the gateway's gate on ${this.#gate.port}`);
    this.#mbus = new MbusSimulator({
      link: join(this.dir, 'ttyMBUS'),
      meters: defaultMeters(METER_COUNT),
      fast: true,
      baud: 38_400,
      seed: this.options.seed,
      log: simLog('mbus'),
    });
    await this.#mbus.start();
    this.log(`M-Bus simulator: ${METER_COUNT} meters on ${this.#mbus.link}`);
    if (this.options.ble) {
      // Plain formats only: auto-added sensors need no keys.
      const sensors = (['bthome', 'ruuvi', 'pvvx'] as const).map((kind) =>
        sensorSpec(kind, 1, { seed: this.options.seed }),
      );
      this.#bluez = new BluezSimulator({
        sensors,
        seed: this.options.seed,
        intervalMs: 1000,
        log: simLog('bluez'),
      });
      // A BT-1 with a charge controller and a Pro battery, connected to by the gateway's Renogy driver.
      for (const { mac, virtual } of RENOGY_DEVICES) this.#bluez.addGattDevice(virtual(mac));
      await this.#bluez.start();
      this.log(
        `fake BlueZ: ${sensors.length} sensors and ${RENOGY_DEVICES.length} Renogy devices on ${this.#bluez.address}`,
      );
    }
    const configPath = join(this.dir, 'fieldbridge.yaml');
    writeFileSync(
      configPath,
      gatewayConfig({
        gatePort: this.#gate.port,
        base: this.base,
        dir: this.dir,
        mbusLink: this.#mbus.link,
        bleBus: this.#bluez?.address,
      }),
    );
    this.#gateway = new GatewayProcess({
      configPath,
      cwd: this.dir,
      logPath: join(this.dir, 'gateway.log'),
      origin: this.origin,
      onCrash: (crash) => this.options.onCrash(crash),
    });
    this.#gateway.start();
    this.log(`gateway started (pid ${this.#gateway.pid}); work directory ${this.dir}`);
  }

  /** Stops everything that was started, gateway first (it drains to the broker while it is still up). */
  stop(): Promise<void> {
    this.#stopping ??= this.#stopAll();
    return this.#stopping;
  }

  async #stopAll(): Promise<void> {
    const step = async (what: string, work: (() => Promise<unknown>) | undefined) => {
      try {
        await work?.();
      } catch (error) {
        this.log(`stopping the ${what} failed: ${errorText(error)}`);
      }
    };
    const gateway = this.#gateway;
    await step('gateway', gateway && (() => gateway.close()));
    const bluez = this.#bluez;
    await step('fake BlueZ', bluez && (() => bluez.stop()));
    const mbus = this.#mbus;
    await step('M-Bus simulator', mbus && (() => mbus.stop()));
    const recorder = this.#recorder;
    await step('recorder', recorder && (() => recorder.close()));
    const gate = this.#gate;
    await step('gate', gate && (() => gate.close()));
    const broker = this.#broker;
    await step('mosquitto', broker && (() => broker.dispose()));
  }

  #need<T>(value: T | undefined, what: string): T {
    if (value === undefined) throw new Error(`the ${what} has not been started`);
    return value;
  }
}
