import { fail } from '../codec/errors.js';
import type { FirmwareVersion } from '../codec/hasseb.js';
import {
  HASSEB_PRODUCT_ID,
  HASSEB_VENDOR_ID,
  type HidAdapterInfo,
  type HidEnumerator,
  type HidTransport,
} from '../hidTransport.js';
import { FakeHassebAdapter } from './adapter.js';
import { DaliBus, defaultGear } from './bus.js';
import { EventLog } from './events.js';
import { FaultInjector, type HassebFaults } from './faults.js';

// The USB side of the fake: hasseb sticks (and other HID devices) that can be plugged, pulled and plugged
// back, behind the HidEnumerator the DALI runtime uses to find and open adapters. A replugged stick gets
// a new /dev/hidrawN, as the kernel gives it, and keeps its lamps: the bus is wired to the lamps, not to
// the USB port.

export interface FakeStickOptions {
  /** Default: a bus of 4 lamps (defaultGear). */
  bus?: DaliBus;
  /** Default HASSEB-0001, HASSEB-0002, … in plug order. */
  serialNumber?: string;
  firmware?: FirmwareVersion;
  faults?: Partial<HassebFaults>;
  /** Seed of the stick's faults. */
  seed?: number;
  fast?: boolean;
  idleIntervalMs?: number;
}

/** One physical stick: its lamps, its faults and where it is plugged. */
export class FakeHassebStick {
  readonly serialNumber: string;
  readonly bus: DaliBus;
  readonly faults: FaultInjector;
  readonly options: FakeStickOptions;
  path: string;
  plugged = true;
  /** Transports opened on the current plug-in (closed ones included). */
  readonly adapters: FakeHassebAdapter[] = [];

  constructor(serialNumber: string, path: string, options: FakeStickOptions) {
    this.serialNumber = serialNumber;
    this.path = path;
    this.options = options;
    this.bus = options.bus ?? new DaliBus({ gear: defaultGear() });
    this.faults = new FaultInjector({ seed: options.seed, faults: options.faults });
  }

  get info(): HidAdapterInfo {
    return {
      path: this.path,
      vendorId: HASSEB_VENDOR_ID,
      productId: HASSEB_PRODUCT_ID,
      serialNumber: this.serialNumber,
      product: 'HASSEB DALI Master (simulated)',
    };
  }

  /** The adapter opened last on this plug-in, if it is still open. */
  get current(): FakeHassebAdapter | undefined {
    return this.adapters.filter((adapter) => adapter.state === 'open').at(-1);
  }
}

export class FakeHidEnumerator implements HidEnumerator {
  readonly log: EventLog;
  readonly #now: () => number;
  readonly #sticks: FakeHassebStick[] = [];
  readonly #others: HidAdapterInfo[] = [];
  #nextHidraw = 0;
  #openFailures: string[] = [];

  constructor(options: { log?: EventLog; now?: () => number } = {}) {
    this.#now = options.now ?? Date.now;
    this.log = options.log ?? new EventLog({ now: this.#now });
  }

  #newPath(): string {
    return `/dev/hidraw${this.#nextHidraw++}`;
  }

  /** Plugs in a new hasseb stick. */
  plug(options: FakeStickOptions = {}): FakeHassebStick {
    const serial = options.serialNumber ?? `HASSEB-${String(this.#sticks.length + 1).padStart(4, '0')}`;
    if (this.#sticks.some((stick) => stick.serialNumber === serial)) {
      fail('bad_argument', `a stick with serial number ${serial} is already plugged in`);
    }
    const stick = new FakeHassebStick(serial, this.#newPath(), options);
    this.#sticks.push(stick);
    this.log.record('usb', { level: 'info', message: `plugged ${serial} at ${stick.path}` });
    return stick;
  }

  /** Another HID device (a keyboard, a UPS): listed, so the runtime must filter by vendor and product. */
  plugOther(info: Omit<HidAdapterInfo, 'path'>): HidAdapterInfo {
    const device = { ...info, path: this.#newPath() };
    this.#others.push(device);
    return device;
  }

  /** The stick with this serial number, or the only one. */
  stick(serialNumber?: string): FakeHassebStick {
    if (serialNumber === undefined) {
      const [only, ...more] = this.#sticks;
      if (only === undefined) return fail('bad_argument', 'no stick has been plugged in');
      if (more.length > 0) fail('bad_argument', `${this.#sticks.length} sticks: say which serial number`);
      return only;
    }
    return (
      this.#sticks.find((stick) => stick.serialNumber === serialNumber) ??
      fail('bad_argument', `no stick with serial number ${serialNumber}`)
    );
  }

  list(): HidAdapterInfo[] {
    return [...this.#sticks.filter((stick) => stick.plugged).map((stick) => stick.info), ...this.#others];
  }

  /** The next `open` rejects with this message (the OS's reason: permissions, busy). */
  failNextOpen(message = 'EACCES: permission denied (see the README for the udev rule)'): void {
    this.#openFailures.push(message);
  }

  open(info: HidAdapterInfo): Promise<HidTransport> {
    const failure = this.#openFailures.shift();
    if (failure !== undefined) return Promise.reject(new Error(`cannot open ${info.path}: ${failure}`));
    const stick = this.#sticks.find((one) => one.plugged && one.path === info.path);
    if (!stick) {
      const other = this.#others.some((one) => one.path === info.path);
      return Promise.reject(
        new Error(`cannot open ${info.path}: ${other ? 'not a hasseb DALI Master' : 'no such device'}`),
      );
    }
    const { fast, firmware, idleIntervalMs } = stick.options;
    const adapter = new FakeHassebAdapter({
      bus: stick.bus,
      info: stick.info,
      faults: stick.faults,
      log: this.log,
      now: this.#now,
      ...(fast === undefined ? {} : { fast }),
      ...(firmware === undefined ? {} : { firmware }),
      ...(idleIntervalMs === undefined ? {} : { idleIntervalMs }),
    });
    stick.adapters.push(adapter);
    this.log.record('usb', { level: 'info', message: `opened ${stick.serialNumber} at ${stick.path}` });
    return Promise.resolve(adapter);
  }

  /** Pulls the stick out: its open transports are lost (writes reject, onLost fires) and list() omits it. */
  unplug(serialNumber?: string): void {
    const stick = this.stick(serialNumber);
    if (!stick.plugged) fail('bad_argument', `${stick.serialNumber} is already unplugged`);
    stick.plugged = false;
    this.log.record('usb', { level: 'info', message: `unplugged ${stick.serialNumber} from ${stick.path}` });
    for (const adapter of stick.adapters.splice(0)) adapter.lose('device unplugged');
  }

  /** Plugs the stick back in at a new path; it must be opened again. */
  replug(serialNumber?: string): HidAdapterInfo {
    const stick = this.stick(serialNumber);
    if (stick.plugged) fail('bad_argument', `${stick.serialNumber} is plugged in; unplug it first`);
    stick.plugged = true;
    stick.path = this.#newPath();
    this.log.record('usb', { level: 'info', message: `replugged ${stick.serialNumber} at ${stick.path}` });
    return stick.info;
  }
}
