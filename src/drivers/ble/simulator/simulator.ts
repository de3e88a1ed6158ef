import { BLUEZ_NAME, type DiscoveryFilter, FakeBluez } from './bluez.js';
import { ControlError, parseControlCommand, runControlCommand } from './control.js';
import { type PrivateBus, startPrivateBus } from './daemon.js';
import { type CallDecision, type IncomingCall, ServiceConnection } from './dbusService.js';
import { FakeGattDevice, type GattDeviceSpec } from './gattDevice.js';
import { EchoPeripheral } from './gattPeripheral.js';
import {
  type BluezFaults,
  CallLog,
  type CallRecord,
  describeFaults,
  hangMatches,
  parseHangPattern,
} from './faults.js';
import { defaultSensors, type SensorKind, sensorSpec, type SensorSpec, SimSensor } from './sensors.js';
import { errorText } from '../../../errorText.js';

// The fake bluetoothd as a process part: a private dbus-daemon (unless given a bus), the org.bluez
// service on it, sensors advertising while a client scans, and the faults a test or a person drives at
// run time. The gateway under test connects to `address` exactly as it connects to the system bus, so
// its whole D-Bus path (proxies, signals, timeouts, name watching) is exercised.

export interface BluezSimulatorOptions {
  /** Serve on this bus (unix:path=…); default: start a private dbus-daemon and stop it with stop(). */
  busAddress?: string;
  /** The dbus-daemon executable (default: from PATH). */
  dbusDaemon?: string;
  /** Default hci0. */
  adapter?: string;
  /** Default 00:1A:7D:DA:71:13. */
  adapterAddress?: string;
  /** Default: 3 sensors (plain BTHome, Ruuvi, encrypted BTHome), see defaultSensors. */
  sensors?: readonly SensorSpec[];
  /** Every sensor advertises this often while a client scans (default 1000 ms); 0: only advertiseNow(). */
  intervalMs?: number;
  /** Seed of the default sensors and of every value (default 1). */
  seed?: number;
  /** How long org.bluez is gone during restart() (default 1000 ms). */
  restartDelayMs?: number;
  /** One line per event (default: nothing). */
  log?: (line: string) => void;
  /** Also log every method call and advertisement. */
  verbose?: boolean;
}

export type BluezSimulatorState = 'stopped' | 'running' | 'restarting';

export interface AdapterStatus {
  present: boolean;
  powered: boolean;
  discovering: boolean;
  /** Unique names of the clients with a discovery session. */
  scanningClients: string[];
  /** The filter of the only client that set one (see FakeBluez.discoveryFilter). */
  filter: DiscoveryFilter | undefined;
}

export class BluezSimulator {
  readonly #options: BluezSimulatorOptions;
  readonly #log: (line: string) => void;
  readonly #sensors: SimSensor[];
  /** Sensors bluetoothd knows (from the start, or heard since): re-exported after a restart or replug. */
  readonly #cached = new Set<SimSensor>();
  readonly #calls = new CallLog();
  /** Connectable (GATT) devices, kept across bluetoothd restarts as its storage would. */
  readonly #gattDevices: FakeGattDevice[] = [];
  #faults: BluezFaults = { hung: [], stuck: false };
  #state: BluezSimulatorState = 'stopped';
  #bus: PrivateBus | undefined;
  #address = '';
  #service: ServiceConnection | undefined;
  #bluez: FakeBluez | undefined;
  #timer: NodeJS.Timeout | undefined;
  #restart: { timer: NodeJS.Timeout; done: () => void } | undefined;
  #added = new Map<string, number>();

  constructor(options: BluezSimulatorOptions = {}) {
    this.#options = options;
    this.#log = options.log ?? (() => undefined);
    const seed = options.seed ?? 1;
    this.#sensors = (options.sensors ?? defaultSensors(3, seed)).map((spec) => new SimSensor(spec, seed));
    const macs = new Set(this.#sensors.map((sensor) => sensor.spec.mac));
    if (macs.size !== this.#sensors.length) throw new RangeError('two sensors have the same MAC address');
    for (const sensor of this.#sensors) this.#cached.add(sensor);
  }

  get state(): BluezSimulatorState {
    return this.#state;
  }

  /** The bus address to give the gateway (`ble.bus_address`); '' before start(). */
  get address(): string {
    return this.#address;
  }

  /** The private dbus-daemon's pid, when this simulator started one. */
  get daemonPid(): number | undefined {
    return this.#bus?.pid;
  }

  /** The fake bluetoothd's unique bus name now (changes with every restart); undefined while gone. */
  get uniqueName(): string | undefined {
    return this.#state === 'running' ? this.#service?.uniqueName : undefined;
  }

  get adapterPath(): string {
    return `/org/bluez/${this.#options.adapter ?? 'hci0'}`;
  }

  get sensors(): readonly SimSensor[] {
    return this.#sensors;
  }

  get gattDevices(): readonly FakeGattDevice[] {
    return this.#gattDevices;
  }

  /**
   * A connectable device. `known` (default): bluetoothd has it from an earlier connection, so its Device1
   * and GATT objects are there at once; otherwise it appears when heard during a scan.
   */
  addGattDevice(spec: GattDeviceSpec, known = true): FakeGattDevice {
    const device = new FakeGattDevice(spec);
    const macs = [...this.#sensors.map((s) => s.spec.mac), ...this.#gattDevices.map((d) => d.spec.mac)];
    if (macs.includes(device.spec.mac))
      throw new ControlError(`a device with address ${device.spec.mac} exists already`);
    this.#gattDevices.push(device);
    device.forgotten = !known;
    if (known && this.#bluez?.present === true) this.#bluez.addConnectable(device);
    return device;
  }

  /** A generic connectable echo device (gattPeripheral.ts), for trying connected BLE by hand. */
  addEchoDevice(): FakeGattDevice {
    const index = this.#gattDevices.length + 1;
    const mac = `C4:EC:00:00:01:${(index & 0xff).toString(16).padStart(2, '0').toUpperCase()}`;
    return this.addGattDevice({ mac, name: `ECHO-${index}`, peripheral: new EchoPeripheral() });
  }

  /** The adapter resets (USB reset, firmware crash): every link drops, its objects go and come back. */
  resetAdapter(): void {
    this.removeAdapter();
    this.addAdapter();
  }

  get faults(): BluezFaults {
    return { hung: [...this.#faults.hung], stuck: this.#faults.stuck };
  }

  async start(): Promise<void> {
    if (this.#state !== 'stopped') return;
    if (this.#options.busAddress === undefined) {
      this.#bus = await startPrivateBus({ dbusDaemon: this.#options.dbusDaemon });
      this.#address = this.#bus.address;
    } else {
      this.#address = this.#options.busAddress;
    }
    try {
      const served = await this.#serve();
      this.#service = served.service;
      this.#bluez = served.bluez;
    } catch (error) {
      await this.#bus?.stop();
      this.#bus = undefined;
      throw error;
    }
    this.#state = 'running';
    const interval = this.#options.intervalMs ?? 1000;
    if (interval > 0) this.#timer = setInterval(() => this.advertiseNow(), interval);
    this.#log(`serving ${BLUEZ_NAME} with ${this.#sensors.length} sensors on ${this.#address}`);
  }

  async stop(): Promise<void> {
    if (this.#state === 'stopped') return;
    this.#state = 'stopped';
    clearInterval(this.#timer);
    this.#timer = undefined;
    if (this.#restart !== undefined) {
      clearTimeout(this.#restart.timer);
      this.#restart.done();
      this.#restart = undefined;
    }
    this.#service?.disconnect();
    this.#service = undefined;
    this.#bluez = undefined;
    for (const device of this.#gattDevices) device.detach();
    await this.#bus?.stop();
    this.#bus = undefined;
    this.#log('stopped');
  }

  /** One advertisement from every sensor, if the adapter is scanning and not stuck; how many were heard. */
  advertiseNow(): number {
    const bluez = this.#bluez;
    if (this.#state !== 'running' || bluez === undefined || !bluez.present || !bluez.discovering) return 0;
    if (this.#faults.stuck) return 0;
    let heard = 0;
    for (const sensor of this.#sensors) {
      const advertisement = sensor.next();
      if (!bluez.advertise(sensor, advertisement)) continue;
      this.#cached.add(sensor);
      heard += 1;
      if (this.#options.verbose) {
        this.#log(`${sensor.spec.mac} rssi ${advertisement.rssi} ${JSON.stringify(advertisement.values)}`);
      }
    }
    return heard + bluez.advertiseConnectables();
  }

  /** A new sensor; BlueZ exports it (InterfacesAdded) at its first advertisement during a scan. */
  addSensor(spec: SensorSpec | SensorKind, options: { encrypted?: boolean } = {}): SimSensor {
    let resolved: SensorSpec;
    if (typeof spec === 'string') {
      const group = `${spec}/${options.encrypted ?? false}`;
      const index = (this.#added.get(group) ?? 0) + 1;
      this.#added.set(group, index);
      // From 100 up: clear of the default sensors' addresses.
      resolved = sensorSpec(spec, 100 + index, { encrypted: options.encrypted, seed: this.#options.seed });
    } else {
      resolved = spec;
    }
    const sensor = new SimSensor(resolved, this.#options.seed ?? 1);
    if (this.#sensors.some((known) => known.spec.mac === sensor.spec.mac)) {
      throw new ControlError(`a sensor with address ${sensor.spec.mac} exists already`);
    }
    this.#sensors.push(sensor);
    this.#log(`sensor added: ${sensor.spec.mac} (${sensor.spec.name}, ${sensor.spec.kind})`);
    return sensor;
  }

  /** Calls matching `method` (see parseHangPattern) are never answered from now on. */
  hang(method: string): string {
    const pattern = parseHangPattern(method);
    if (!this.#faults.hung.includes(pattern)) {
      this.#faults = { ...this.#faults, hung: [...this.#faults.hung, pattern] };
    }
    this.#log(`hanging ${pattern}`);
    return pattern;
  }

  /** Answers `method` again, or everything without an argument. Calls already hung stay unanswered. */
  unhang(method?: string): void {
    const pattern = method === undefined ? undefined : parseHangPattern(method);
    const hung = pattern === undefined ? [] : this.#faults.hung.filter((known) => known !== pattern);
    this.#faults = { ...this.#faults, hung };
    this.#log(pattern === undefined ? 'answering every call again' : `answering ${pattern} again`);
  }

  setStuck(stuck: boolean): void {
    this.#faults = { ...this.#faults, stuck };
    this.#log(stuck ? 'discovery stuck: Discovering stays, advertisements stop' : 'discovery unstuck');
  }

  /** The adapter powers off (rfkill): Powered and Discovering false, scans end; a client may power it on. */
  powerOff(): void {
    this.#requireAdapter('poweroff').setPowered(false);
  }

  powerOn(): void {
    this.#requireAdapter('poweron').setPowered(true);
  }

  /** The adapter disappears (InterfacesRemoved for its devices and itself), as when a dongle is pulled. */
  removeAdapter(): void {
    this.#requireAdapter('remove-adapter').removeAdapter();
    this.#log(`${this.adapterPath} removed`);
  }

  /** The adapter is back: powered, not scanning, with the devices bluetoothd had cached. */
  addAdapter(): void {
    const bluez = this.#bluez;
    if (this.#state !== 'running' || bluez === undefined) {
      throw new ControlError(`cannot add-adapter: ${this.#state}`);
    }
    if (bluez.present) throw new ControlError(`${this.adapterPath} is present already`);
    bluez.addAdapter([...this.#cached]);
    this.#log(`${this.adapterPath} added`);
  }

  /**
   * bluetoothd restarts: its connection leaves the bus (org.bluez loses its owner, pending calls are
   * dropped), and after `delayMs` a new connection owns org.bluez with fresh objects. Hangs and a stuck
   * discovery go with the old process. Resolves when org.bluez is owned again.
   */
  async restart(delayMs = this.#options.restartDelayMs ?? 1000): Promise<void> {
    if (this.#state !== 'running') throw new ControlError(`cannot restart: the simulator is ${this.#state}`);
    this.#state = 'restarting';
    this.#service?.disconnect();
    this.#service = undefined;
    this.#bluez = undefined;
    // The links and objects go with bluetoothd; the devices (and their faults) stay.
    for (const device of this.#gattDevices) device.detach();
    this.#faults = { hung: [], stuck: false };
    this.#log(`bluetoothd stopped; back in ${delayMs} ms`);
    const resumed = await new Promise<boolean>((resolve) => {
      this.#restart = { timer: setTimeout(() => resolve(true), delayMs), done: () => resolve(false) };
    });
    this.#restart = undefined;
    if (!resumed || this.#state !== 'restarting') return;
    const served = await this.#serve();
    if (this.#state !== 'restarting') {
      // stop() came while the new bluetoothd was connecting: it must not outlive the simulator.
      served.service.disconnect();
      return;
    }
    this.#service = served.service;
    this.#bluez = served.bluez;
    this.#state = 'running';
    this.#log('bluetoothd is back');
  }

  adapterStatus(): AdapterStatus {
    const bluez = this.#bluez;
    return {
      present: bluez?.present ?? false,
      powered: bluez?.powered ?? false,
      discovering: bluez?.discovering ?? false,
      scanningClients: bluez?.scanningClients ?? [],
      filter: bluez?.discoveryFilter(),
    };
  }

  /**
   * Calls received under `name`: a counter key (`Properties.Set(Powered)`), a method (`StartDiscovery`,
   * `Set`), `Interface.Method` or `Method(Property)`. Hung calls count too.
   */
  callCount(name: string): number {
    return this.#calls.count(name);
  }

  /** Every counter by its key. */
  callCounts(): Record<string, number> {
    return this.#calls.counts();
  }

  /** The latest calls (up to 1000), oldest first. */
  get calls(): readonly CallRecord[] {
    return this.#calls.records;
  }

  resetCalls(): void {
    this.#calls.clear();
  }

  status(): string[] {
    const adapter = this.adapterStatus();
    const adapterLine = !adapter.present
      ? `${this.adapterPath} absent`
      : `${this.adapterPath} powered ${adapter.powered ? 'on' : 'off'}, ${adapter.discovering ? `discovering (${adapter.scanningClients.join(', ')})` : 'not discovering'}`;
    const counts = Object.entries(this.callCounts()).map(([key, count]) => `${key} ${count}`);
    return [
      `${this.#state} on ${this.#address || '(no bus)'}${this.uniqueName === undefined ? '' : ` as ${this.uniqueName}`}`,
      adapterLine,
      describeFaults(this.#faults),
      ...this.#sensors.map((sensor) => {
        const last = sensor.last;
        const seen =
          last === undefined
            ? 'not heard yet'
            : `#${last.sequence} rssi ${last.rssi}, ${last.values.temperature} °C, ${last.values.humidity} %`;
        return `  ${sensor.spec.mac} ${sensor.spec.kind}${sensor.spec.bindKey ? ' (encrypted)' : ''} "${sensor.spec.name}": ${seen}`;
      }),
      `calls: ${counts.length === 0 ? 'none' : counts.join(', ')}`,
    ];
  }

  /** Runs one control line (stdin); logs and returns what happened; a failure is logged, not thrown. */
  async execute(line: string): Promise<string> {
    let message: string;
    try {
      const command = parseControlCommand(line);
      if (command === undefined) return '';
      const { answer, log } = await runControlCommand(this, command);
      if (!log) return answer;
      message = answer;
    } catch (error) {
      // A typo, a fault that does not apply now or a failed restart is reported; the simulator carries on.
      message = `error: ${errorText(error)}`;
    }
    this.#log(message);
    return message;
  }

  #requireAdapter(what: string): FakeBluez {
    const bluez = this.#bluez;
    if (this.#state !== 'running' || bluez === undefined) {
      throw new ControlError(`cannot ${what}: ${this.#state}`);
    }
    if (!bluez.present) throw new ControlError(`cannot ${what}: ${this.adapterPath} is absent (add-adapter)`);
    return bluez;
  }

  /** A new bluetoothd: connection, objects, then the name (clients see NameOwnerChanged when all is there). */
  async #serve(): Promise<{ service: ServiceConnection; bluez: FakeBluez }> {
    let bluez: FakeBluez | undefined;
    const service = await ServiceConnection.connect({
      busAddress: this.#address,
      onCall: (call) => this.#onCall(call),
      onClientGone: (client) => bluez?.clientGone(client),
    });
    try {
      bluez = new FakeBluez(service, {
        connectables: () => this.#gattDevices,
        adapter: this.#options.adapter ?? 'hci0',
        adapterAddress: this.#options.adapterAddress ?? '00:1A:7D:DA:71:13',
        log: this.#log,
        onPowerChange: (on) => {
          // A power cycle resets the controller: a stuck scan does not survive it.
          if (!on && this.#faults.stuck) this.setStuck(false);
        },
      });
      bluez.addAdapter([...this.#cached]);
      await service.requestName(BLUEZ_NAME);
      return { service, bluez };
    } catch (error) {
      service.disconnect();
      throw error;
    }
  }

  #onCall(call: IncomingCall): CallDecision {
    const hung = this.#faults.hung.some((pattern) => hangMatches(pattern, call));
    const { key } = this.#calls.record(call, hung, Date.now());
    if (hung || this.#options.verbose) {
      this.#log(`${hung ? 'hung' : 'call'} ${key} from ${call.sender} on ${call.path}`);
    }
    return hung ? 'hang' : 'serve';
  }
}
