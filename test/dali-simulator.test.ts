import { afterEach, describe, expect, it } from 'vitest';
import {
  answer,
  type BackwardResult,
  BROADCAST,
  BROADCAST_UNADDRESSED,
  checkFirmwareVersion,
  type DaliCommand,
  DaliError,
  dapc,
  decodeGroups,
  decodeStatus,
  dtr0,
  encodeFirmwareVersionRequest,
  encodeSendFrame,
  gearCommand,
  groupAddress,
  type HassebInReport,
  initialise,
  INVALID_ANSWER,
  NO_ANSWER,
  parseInReport,
  randomise,
  SequenceCounter,
  shortAddress,
  specialCommand,
  terminate,
} from '../src/drivers/dali/codec/index.js';
import { HASSEB_PRODUCT_ID, HASSEB_VENDOR_ID } from '../src/drivers/dali/hidTransport.js';
import {
  DaliBus,
  defaultGear,
  FakeHassebAdapter,
  FakeHidEnumerator,
  type GearSpec,
} from '../src/drivers/dali/simulator/index.js';

// The virtual DALI bus and the fake hasseb on it, driven the way the bus runtime will drive them: OUT
// reports through the HidTransport, IN reports matched to their sequence number. The bus model is also
// called directly where that says more (send-twice timing, commissioning).

/** A minimal host: numbers its reports, waits for the matching response, ignores everything else. */
class Host {
  readonly reports: HassebInReport[] = [];
  readonly #counter = new SequenceCounter();
  readonly #waiting = new Map<number, (report: HassebInReport) => void>();

  constructor(readonly adapter: FakeHassebAdapter) {
    adapter.onReport((bytes) => {
      const report = parseInReport(bytes);
      this.reports.push(report);
      if (report.kind === 'no_data') return;
      const resolve = this.#waiting.get(report.sequence);
      this.#waiting.delete(report.sequence);
      resolve?.(report);
    });
  }

  get lastSequence(): number {
    return this.#counter.last;
  }

  #request(bytes: (sequence: number) => Buffer, timeoutMs: number): Promise<HassebInReport | 'timeout'> {
    const sequence = this.#counter.next();
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#waiting.delete(sequence);
        resolve('timeout');
      }, timeoutMs);
      this.#waiting.set(sequence, (report) => {
        clearTimeout(timer);
        resolve(report);
      });
      this.adapter.write(bytes(sequence)).catch(reject);
    });
  }

  /** Sends a command; for a query, resolves with its result ('timeout' when no report came). */
  async send(command: DaliCommand, timeoutMs = 300): Promise<BackwardResult | 'timeout' | undefined> {
    if (!command.isQuery) {
      await this.adapter.write(encodeSendFrame(command, this.#counter.next()));
      await this.adapter.settled();
      return undefined;
    }
    const report = await this.#request((sequence) => encodeSendFrame(command, sequence), timeoutMs);
    if (report === 'timeout') return report;
    if (report.kind !== 'response') throw new Error(`expected a response, got ${report.kind}`);
    return report.reply;
  }

  /** The byte a query answers; anything else fails the test, saying what came instead. */
  async value(command: DaliCommand): Promise<number> {
    const result = await this.send(command);
    if (result === undefined || result === 'timeout' || result.kind !== 'answer') {
      throw new Error(`${command.name}: expected an answer, got ${JSON.stringify(result)}`);
    }
    return result.value;
  }

  async firmware(): Promise<HassebInReport | 'timeout'> {
    return this.#request(encodeFirmwareVersionRequest, 300);
  }
}

const adapters: FakeHassebAdapter[] = [];

function rig(gear: GearSpec[] = defaultGear(), options: { seed?: number; idleIntervalMs?: number } = {}) {
  const bus = new DaliBus({ gear });
  const adapter = new FakeHassebAdapter({
    bus,
    fast: true,
    idleIntervalMs: options.idleIntervalMs ?? 0,
    seed: options.seed,
  });
  adapters.push(adapter);
  return { bus, adapter, host: new Host(adapter) };
}

afterEach(async () => {
  for (const adapter of adapters.splice(0)) await adapter.close();
});

const s = shortAddress;

describe('the virtual DALI bus through the fake hasseb', () => {
  it('answers queries like real gear: a value, silence for absent gear, a collision for several', async () => {
    const { host } = rig(defaultGear(4));
    expect(await host.send(gearCommand(s(2), 'QUERY CONTROL GEAR PRESENT'))).toEqual(answer(0xff));
    expect(await host.send(gearCommand(s(9), 'QUERY CONTROL GEAR PRESENT'))).toEqual(NO_ANSWER);
    expect(await host.send(gearCommand(s(1), 'QUERY ACTUAL LEVEL'))).toEqual(answer(0));
    expect(await host.send(gearCommand(s(1), 'QUERY PHYSICAL MINIMUM'))).toEqual(answer(1));
    // Gear 0 and 2 are in group 0, 1 and 3 in group 1: a group query gets two answers at once.
    expect(await host.send(gearCommand(groupAddress(0), 'QUERY ACTUAL LEVEL'))).toEqual(INVALID_ANSWER);
    expect(await host.send(gearCommand(BROADCAST, 'QUERY CONTROL GEAR PRESENT'))).toEqual(INVALID_ANSWER);
    expect(await host.send(gearCommand(groupAddress(7), 'QUERY STATUS'))).toEqual(NO_ANSWER);
    expect(host.adapter.log.messages('info')).toContain('collision: 2 gear answered (gear 0, 2)');
  });

  it('applies DAPC within min and max, with the limit error and lamp-on bits', async () => {
    const { host, bus } = rig([{ shortAddress: 5, physicalMinimum: 40, maxLevel: 200 }]);
    await host.send(dapc(s(5), 254));
    expect(bus.gearAt(5).actualLevel).toBe(200);
    const status = await host.value(gearCommand(s(5), 'QUERY STATUS'));
    expect(decodeStatus(status)).toMatchObject({
      lampOn: true,
      limitError: true,
    });
    await host.send(dapc(s(5), 10));
    expect(await host.send(gearCommand(s(5), 'QUERY ACTUAL LEVEL'))).toEqual(answer(40));
    await host.send(dapc(s(5), 100));
    await host.send(dapc(s(5), 255)); // MASK: keep the level
    expect(await host.send(gearCommand(s(5), 'QUERY ACTUAL LEVEL'))).toEqual(answer(100));
    expect(await host.send(gearCommand(s(5), 'QUERY LIMIT ERROR'))).toEqual(NO_ANSWER);
    await host.send(gearCommand(s(5), 'OFF'));
    await host.send(gearCommand(s(5), 'UP')); // UP never switches a lamp on
    expect(await host.send(gearCommand(s(5), 'QUERY LAMP POWER ON'))).toEqual(NO_ANSWER);
    await host.send(gearCommand(s(5), 'RECALL MIN LEVEL'));
    expect(await host.send(gearCommand(s(5), 'QUERY ACTUAL LEVEL'))).toEqual(answer(40));
  });

  it('stores DTR0 settings, groups and scenes only from send-twice commands', async () => {
    const { host, bus } = rig(defaultGear(3));
    await host.send(dtr0(150));
    await host.send(gearCommand(s(1), 'SET MAX LEVEL'));
    expect(await host.send(gearCommand(s(1), 'QUERY MAX LEVEL'))).toEqual(answer(150));
    await host.send(gearCommand(s(1), 'ADD TO GROUP', 12));
    await host.send(gearCommand(s(2), 'ADD TO GROUP', 12));
    const low = await host.value(gearCommand(s(1), 'QUERY GROUPS 0-7'));
    const high = await host.value(gearCommand(s(1), 'QUERY GROUPS 8-15'));
    expect(decodeGroups(low, high)).toEqual([1, 12]);
    await host.send(dapc(groupAddress(12), 200));
    expect(bus.gear.map((gear) => gear.actualLevel)).toEqual([0, 150, 200]);
    await host.send(gearCommand(s(2), 'REMOVE FROM GROUP', 12));
    expect(bus.gearAt(2).groups).toBe(1);

    await host.send(dtr0(77));
    await host.send(gearCommand(BROADCAST, 'SET SCENE', 4));
    await host.send(gearCommand(BROADCAST, 'GO TO SCENE', 4));
    expect(bus.gear.map((gear) => gear.actualLevel)).toEqual([77, 77, 77]);
    expect(await host.send(gearCommand(s(0), 'QUERY SCENE LEVEL', 4))).toEqual(answer(77));
    expect(await host.send(gearCommand(s(0), 'QUERY SCENE LEVEL', 5))).toEqual(answer(0xff));

    // Sent once (no repeat flag), a configuration command is heard and ignored.
    const once = { ...gearCommand(s(0), 'ADD TO GROUP', 9), sendTwice: false };
    await host.send(once);
    expect(bus.gearAt(0).groups & (1 << 9)).toBe(0);
  });

  it('RESET restores the defaults and sets the reset state', async () => {
    const { host, bus } = rig([{ shortAddress: 3, maxLevel: 180, groups: [4], scenes: { 1: 30 } }]);
    expect(await host.send(gearCommand(s(3), 'QUERY RESET STATE'))).toEqual(NO_ANSWER);
    await host.send(gearCommand(s(3), 'RESET'));
    expect(await host.send(gearCommand(s(3), 'QUERY RESET STATE'))).toEqual(answer(0xff));
    expect(bus.gearAt(3)).toMatchObject({ maxLevel: 254, groups: 0, actualLevel: 254 });
  });

  it('comes back from a power cut at the power-on level with the power-failure bit until a level command', async () => {
    const { host, bus } = rig([{ shortAddress: 4, powerOnLevel: 120, level: 60 }]);
    bus.cutPower(4);
    expect(await host.send(gearCommand(s(4), 'QUERY CONTROL GEAR PRESENT'))).toEqual(NO_ANSWER);
    await host.send(dapc(s(4), 200)); // not heard
    bus.restorePower(4);
    const status = await host.value(gearCommand(s(4), 'QUERY STATUS'));
    expect(decodeStatus(status)).toMatchObject({
      powerFailure: true,
      lampOn: true,
    });
    expect(await host.send(gearCommand(s(4), 'QUERY ACTUAL LEVEL'))).toEqual(answer(120));
    // Queries leave the bit alone; a level command clears it.
    expect(await host.send(gearCommand(s(4), 'QUERY POWER FAILURE'))).toEqual(answer(0xff));
    await host.send(dapc(s(4), 90));
    expect(await host.send(gearCommand(s(4), 'QUERY POWER FAILURE'))).toEqual(NO_ANSWER);
  });

  it('reports lamp failure in the status and QUERY LAMP FAILURE', async () => {
    const { host, bus } = rig([{ shortAddress: 0, level: 100 }]);
    bus.setLampFailure(0, true);
    expect(await host.send(gearCommand(s(0), 'QUERY LAMP FAILURE'))).toEqual(answer(0xff));
    const status = await host.value(gearCommand(s(0), 'QUERY STATUS'));
    expect(decodeStatus(status)).toMatchObject({
      lampFailure: true,
      lampOn: false,
    });
    bus.setLampFailure(0, false);
    expect(await host.send(gearCommand(s(0), 'QUERY LAMP FAILURE'))).toEqual(NO_ANSWER);
  });

  it('answers the firmware version with the sequence number echoed', async () => {
    const { host } = rig();
    const report = await host.firmware();
    expect(report).toEqual({ kind: 'firmware', sequence: 1, version: { major: 2, minor: 3 } });
    const old = new FakeHassebAdapter({
      bus: new DaliBus({ gear: [] }),
      fast: true,
      idleIntervalMs: 0,
      firmware: { major: 1, minor: 9 },
    });
    adapters.push(old);
    const reply = await new Host(old).firmware();
    expect(() =>
      checkFirmwareVersion(
        reply !== 'timeout' && reply.kind === 'firmware' ? reply.version : { major: 0, minor: 0 },
      ),
    ).toThrow(/firmware 1\.9 is too old/);
  });
});

describe('the fake hasseb with DALI timing', () => {
  it('takes about a forward and a backward frame per query, and sends configuration twice in time', async () => {
    const bus = new DaliBus({ gear: [{ shortAddress: 0 }] });
    const adapter = new FakeHassebAdapter({ bus, idleIntervalMs: 0 });
    adapters.push(adapter);
    const host = new Host(adapter);
    const started = performance.now();
    expect(await host.send(gearCommand(s(0), 'QUERY CONTROL GEAR PRESENT'))).toEqual(answer(0xff));
    expect(performance.now() - started).toBeGreaterThanOrEqual(25);
    await host.send(gearCommand(s(0), 'ADD TO GROUP', 6));
    expect(bus.gearAt(0).groups).toBe(1 << 6);
  });
});

describe('send-twice timing on the bus model', () => {
  const add = gearCommand(s(0), 'ADD TO GROUP', 3).frame;
  const inGroup3 = (bus: DaliBus) => ((bus.gearAt(0).groups >> 3) & 1) === 1;

  it('acts on the second copy within 100 ms', () => {
    const bus = new DaliBus({ gear: [{ shortAddress: 0 }] });
    const first = bus.transmit(add, 1000);
    expect(inGroup3(bus)).toBe(false);
    expect(first.events.map((event) => event.message)).toContain(
      'ADD TO GROUP 3 to short 0: first copy, waiting for the second',
    );
    bus.transmit(add, 1090);
    expect(inGroup3(bus)).toBe(true);
  });

  it('ignores copies too far apart or with another frame in between', () => {
    const bus = new DaliBus({ gear: [{ shortAddress: 0 }] });
    bus.transmit(add, 1000);
    bus.transmit(add, 1150);
    expect(inGroup3(bus)).toBe(false); // the second became a new first copy …
    bus.transmit(gearCommand(s(0), 'QUERY STATUS').frame, 1160);
    bus.transmit(add, 1170);
    expect(inGroup3(bus)).toBe(false); // … which the query in between cancelled
  });
});

describe('commissioning on the bus model', () => {
  it('finds gear without a short address by binary search and programs addresses', () => {
    const bus = new DaliBus({ gear: [{ shortAddress: 0 }, {}, {}], seed: 7 });
    let now = 0;
    const send = (command: DaliCommand): BackwardResult => {
      now += 20;
      if (command.sendTwice) bus.transmit(command.frame, now);
      now += 20;
      return bus.transmit(command.frame, now).reply;
    };
    const setSearch = (address: number) => {
      send(specialCommand('SEARCHADDRH', (address >> 16) & 0xff));
      send(specialCommand('SEARCHADDRM', (address >> 8) & 0xff));
      send(specialCommand('SEARCHADDRL', address & 0xff));
    };
    expect(send(gearCommand(BROADCAST_UNADDRESSED, 'QUERY MISSING SHORT ADDRESS'))).toEqual(INVALID_ANSWER);
    send(initialise('unaddressed'));
    send(randomise());
    const programmed: number[] = [];
    for (let next = 1; ; next++) {
      let low = 0;
      let high = 0xffffff;
      setSearch(high);
      if (send(specialCommand('COMPARE')).kind === 'no_answer') break;
      while (low < high) {
        const middle = Math.floor((low + high) / 2);
        setSearch(middle);
        if (send(specialCommand('COMPARE')).kind === 'no_answer') low = middle + 1;
        else high = middle;
      }
      setSearch(low);
      send(specialCommand('PROGRAM SHORT ADDRESS', (next << 1) | 1));
      expect(send(specialCommand('VERIFY SHORT ADDRESS', (next << 1) | 1))).toEqual(answer(0xff));
      send(specialCommand('WITHDRAW'));
      programmed.push(next);
    }
    send(terminate());
    expect(programmed).toEqual([1, 2]);
    expect(bus.gear.map((gear) => gear.shortAddress).sort()).toEqual([0, 1, 2]);
    expect(send(gearCommand(s(2), 'QUERY CONTROL GEAR PRESENT'))).toEqual(answer(0xff));
    expect(send(gearCommand(BROADCAST_UNADDRESSED, 'QUERY MISSING SHORT ADDRESS'))).toEqual(NO_ANSWER);
  });

  it('refuses two gear on one short address as a starting point', () => {
    expect(() => new DaliBus({ gear: [{ shortAddress: 3 }, { shortAddress: 3 }] })).toThrow(DaliError);
    expect(() => new DaliBus({ gear: [] }).gearAt(3)).toThrow(/no gear with short address 3/);
  });
});

describe('faults', () => {
  const query = gearCommand(s(0), 'QUERY ACTUAL LEVEL');

  it('loses, garbles and drops on request, then works again', async () => {
    const { host, bus, adapter } = rig([{ shortAddress: 0, level: 50 }]);
    adapter.faults.failNext('noAnswer');
    expect(await host.send(query)).toEqual(NO_ANSWER);
    adapter.faults.failNext('invalidAnswer');
    expect(await host.send(query)).toEqual(INVALID_ANSWER);
    adapter.faults.failNext('dropFrame');
    await host.send(dapc(s(0), 200));
    expect(bus.gearAt(0).actualLevel).toBe(50);
    expect(await host.send(query)).toEqual(answer(50));
    expect(adapter.log.messages('info')).toEqual(
      expect.arrayContaining([
        'fault: answer to QUERY ACTUAL LEVEL to short 0 lost (noAnswer)',
        'fault: frame 00 C8 lost on the line (dropFrame)',
      ]),
    );
  });

  it('sometimes sends nothing at all, and answers slowly when told to', async () => {
    const { host, adapter } = rig([{ shortAddress: 0 }]);
    adapter.faults.failNext('silent');
    expect(await host.send(query, 100)).toBe('timeout');
    adapter.faults.set({ slowMs: 80 });
    const started = performance.now();
    expect(await host.send(query)).toEqual(answer(0));
    expect(performance.now() - started).toBeGreaterThanOrEqual(75);
  });

  it('sends a stale report with the previous sequence number before the real answer', async () => {
    const { host, adapter } = rig([{ shortAddress: 0, level: 10 }]);
    expect(await host.send(query)).toEqual(answer(10));
    adapter.faults.failNext('stale');
    await host.send(dapc(s(0), 20));
    expect(await host.send(query)).toEqual(answer(20));
    const responses = host.reports.filter((report) => report.kind === 'response');
    expect(responses.map((report) => report.sequence)).toEqual([1, 1, 3]);
    expect(responses[1]).toMatchObject({ reply: answer(10) }); // the old answer, ignored by sequence
  });

  it('sends idle no-data reports while polled', async () => {
    const { host, adapter } = rig([{ shortAddress: 0 }], { idleIntervalMs: 5 });
    adapter.faults.failNext('idle');
    expect(await host.send(query)).toEqual(answer(0));
    await new Promise((resolve) => setTimeout(resolve, 40));
    expect(host.reports.filter((report) => report.kind === 'no_data').length).toBeGreaterThanOrEqual(3);
  });

  it('repeats the same faults from the same seed', async () => {
    const run = async () => {
      const { host, adapter } = rig([{ shortAddress: 0 }], { seed: 42 });
      adapter.faults.set({ noAnswer: 0.5, invalidAnswer: 0.2 });
      const results: string[] = [];
      for (let i = 0; i < 20; i++) {
        const result = await host.send(query);
        results.push(result === 'timeout' || result === undefined ? String(result) : result.kind);
      }
      return results;
    };
    const first = await run();
    expect(first).toEqual(await run());
    expect(new Set(first).size).toBeGreaterThan(1);
  });

  it('refuses nonsense fault settings, naming the field', () => {
    const { adapter } = rig();
    expect(() => adapter.faults.set({ noAnswer: 2 })).toThrow(
      /noAnswer must be a probability between 0 and 1, got 2/,
    );
    expect(() => adapter.faults.set({ slowMs: -1 })).toThrow(/slowMs must be 0-60000 ms, got -1/);
  });
});

describe('FakeHidEnumerator', () => {
  it('lists, opens, loses on unplug and comes back at a new path on replug', async () => {
    const usb = new FakeHidEnumerator();
    const stick = usb.plug({
      fast: true,
      idleIntervalMs: 0,
      bus: new DaliBus({ gear: [{ shortAddress: 0 }] }),
    });
    usb.plugOther({ vendorId: 0x046d, productId: 0xc31c, product: 'Keyboard' });
    const hasseb = usb
      .list()
      .filter((info) => info.vendorId === HASSEB_VENDOR_ID && info.productId === HASSEB_PRODUCT_ID);
    expect(hasseb).toEqual([expect.objectContaining({ path: '/dev/hidraw0', serialNumber: 'HASSEB-0001' })]);
    const first = hasseb[0];
    if (!first) throw new Error('no stick listed');

    const transport = await usb.open(first);
    const lost: string[] = [];
    transport.onLost((reason) => lost.push(reason));
    const adapter = stick.current;
    if (!adapter) throw new Error('no adapter');
    adapters.push(adapter);
    const host = new Host(adapter);
    await host.send(dapc(s(0), 99));

    usb.unplug();
    expect(lost).toEqual(['device unplugged']);
    await expect(transport.write(encodeSendFrame(dapc(s(0), 1), 9))).rejects.toThrow(
      /cannot write to \/dev\/hidraw0: device unplugged/,
    );
    expect(usb.list().map((info) => info.product)).toEqual(['Keyboard']);
    await expect(usb.open(first)).rejects.toThrow(/cannot open \/dev\/hidraw0: no such device/);

    const again = usb.replug();
    expect(again.path).toBe('/dev/hidraw2');
    await expect(usb.open(first)).rejects.toThrow(/no such device/);
    const reopened = await usb.open(again);
    const next = stick.current;
    if (!next) throw new Error('no adapter after replug');
    adapters.push(next);
    expect(reopened).toBe(next);
    // The lamps kept their level: the bus hangs off the lamps, not the USB port.
    expect(await new Host(next).send(gearCommand(s(0), 'QUERY ACTUAL LEVEL'))).toEqual(answer(99));
  });

  it('reports a loss to a listener that registers after it, and refuses to open other devices', async () => {
    const usb = new FakeHidEnumerator();
    usb.plug({ fast: true, idleIntervalMs: 0 });
    const info = usb.list()[0];
    if (!info) throw new Error('no stick listed');
    const transport = await usb.open(info);
    usb.unplug();
    const reason = await new Promise<string>((resolve) => transport.onLost(resolve));
    expect(reason).toBe('device unplugged');
    const keyboard = usb.plugOther({ vendorId: 1, productId: 2 });
    await expect(usb.open(keyboard)).rejects.toThrow(/not a hasseb DALI Master/);
    expect(() => usb.unplug()).toThrow(/already unplugged/);
  });

  it('fails an open with the reason given, once', async () => {
    const usb = new FakeHidEnumerator();
    usb.plug({ fast: true, idleIntervalMs: 0 });
    const info = usb.list()[0];
    if (!info) throw new Error('no stick listed');
    usb.failNextOpen();
    await expect(usb.open(info)).rejects.toThrow(/cannot open \/dev\/hidraw0: EACCES: permission denied/);
    const transport = await usb.open(info);
    await transport.close();
    await expect(transport.write(Buffer.alloc(10))).rejects.toThrow(/closed/);
    expect(usb.log.messages('info')).toEqual(
      expect.arrayContaining(['plugged HASSEB-0001 at /dev/hidraw0', 'opened HASSEB-0001 at /dev/hidraw0']),
    );
  });
});
