import { describe, expect, it } from 'vitest';
import { FrameAssembler, wireTimeMs } from '../src/drivers/mbus/codec/frames.js';
import { MbusMaster } from '../src/drivers/mbus/master.js';
import { scanSecondary } from '../src/drivers/mbus/scan.js';
import type { ByteLink } from '../src/drivers/mbus/serialLink.js';
import { SimulatedLineLink } from '../src/drivers/mbus/simulator/lineLink.js';
import { defaultMeters, type MeterSpec } from '../src/drivers/mbus/simulator/meters.js';
import { MbusBus } from '../src/drivers/mbus/simulator/slave.js';

// What real lines do that the simulator's own wire does not: level converters that echo the request
// (the echo comes back through the receiver, after the write has drained), meters that take most of
// the answer window to answer. The master is checked against EN 13757-2's timing, as libmbus reads it.

const BAUD = 2400;
const signal = () => AbortSignal.timeout(20_000);

/** What a real converter or line does to the bytes between the master and the simulated meters. */
interface LineEffects {
  /** After each request has drained: `deliver` hands bytes to the master (an echo). */
  written?: (request: Buffer, deliver: (bytes: Buffer) => void) => void;
  /** The meters' bytes on their way to the master (bit errors). */
  received?: (chunk: Buffer) => Buffer;
}

class RealLineLink implements ByteLink {
  readonly writeEndsOnWire = true;
  readonly path = 'real line';
  #listener: (chunk: Buffer) => void = () => undefined;
  constructor(
    readonly inner: SimulatedLineLink,
    private readonly effects: LineEffects,
  ) {
    inner.onData((chunk) => this.#listener(effects.received?.(chunk) ?? chunk));
  }
  async write(bytes: Buffer): Promise<void> {
    await this.inner.write(bytes);
    this.effects.written?.(Buffer.from(bytes), (out) => this.#listener(out));
  }
  onData(listener: (chunk: Buffer) => void): void {
    this.#listener = listener;
  }
  onLost(): void {}
  discardInput(): Promise<void> {
    return this.inner.discardInput();
  }
  close(): Promise<void> {
    return this.inner.close();
  }
}

/** A converter that echoes every request: the echo reaches the master a few ms after the drain. */
function echoing(inner: SimulatedLineLink, echoDelayMs: number): ByteLink {
  return new RealLineLink(inner, {
    written: (request, deliver) => setTimeout(() => deliver(request), echoDelayMs),
  });
}

/**
 * A line on which the first answer takes a bit error in its length byte, and carries an E5 among its
 * data (a value byte): the master's receiver cannot frame it, but the meter keeps talking.
 */
function bitErrorInFirstAnswer(inner: SimulatedLineLink): ByteLink {
  let offset = 0;
  return new RealLineLink(inner, {
    received: (chunk) => {
      const out = Buffer.from(chunk);
      for (let i = 0; i < out.length && offset >= 0; i++, offset++) {
        if (offset === 1) out[i] = (out[i] ?? 0) ^ 0x04;
        if (offset === 20) out[i] = 0xe5;
      }
      return out;
    },
    // Only the first answer: later ones pass unharmed.
    written: () => {
      if (offset > 0) offset = -1;
    },
  });
}

function slowMeter(answerDelayMs: number): MeterSpec {
  const [water] = defaultMeters(2).slice(1);
  return { ...(water as MeterSpec), answerDelayMs };
}

describe('M-Bus master on a converter that echoes the request', () => {
  it('waits the whole answer window after the echo: a meter answering 120 ms after the request is read at once', async () => {
    // 120 ms is inside EN 13757-2's window at 2400 Bd (330 bit times + 50 ms = 187.5 ms).
    const meter = slowMeter(120);
    const bus = new MbusBus({ meters: [meter], startedAt: Date.now(), baud: BAUD });
    const line = new SimulatedLineLink(bus);
    const master = new MbusMaster(echoing(line, 5), BAUD);
    const readout = await master.read({ primary: meter.address }, signal());
    expect(readout.secondary.slice(0, 8)).toBe(meter.id);
    // One REQ_UD2, answered: no retry went out while the meter was about to answer.
    expect(line.written).toHaveLength(1);
    expect(line.line.interrupted).toBe(0);
  });

  it('takes a lone E5 after the echo as the acknowledgement of a SND_NKE', async () => {
    const meter = slowMeter(150);
    const bus = new MbusBus({ meters: [meter], startedAt: Date.now(), baud: BAUD });
    const line = new SimulatedLineLink(bus);
    const master = new MbusMaster(echoing(line, 5), BAUD);
    await expect(master.ping(meter.address, signal(), 1)).resolves.toBe('ack');
  });
});

describe('M-Bus master on a line with bit errors', () => {
  it('does not take an E5 among the data of an answer it could not frame for an answer, nor ask again while the meter talks', async () => {
    const meter = slowMeter(20);
    const bus = new MbusBus({ meters: [meter], startedAt: Date.now(), baud: BAUD });
    const line = new SimulatedLineLink(bus);
    const master = new MbusMaster(bitErrorInFirstAnswer(line), BAUD);
    const readout = await master.read({ primary: meter.address }, signal());
    expect(readout.secondary.slice(0, 8)).toBe(meter.id);
    // The repeat went out once the garbled answer was over: the meter heard it and answered it.
    expect(line.line.interrupted).toBe(0);
    expect(line.written).toHaveLength(2);
  });
});

/**
 * Two meters of one make that acknowledge in lockstep: their E5s start within a fraction of a bit, so
 * the wire carries one clean E5. Building a telegram takes them different times, so their RSP_UDs come
 * one after the other, both starting inside the answer window. Each meter is its own simulated bus.
 */
class LockstepPair implements ByteLink {
  readonly writeEndsOnWire = true;
  readonly path = 'lockstep meters';
  readonly #assembler = new FrameAssembler();
  #listener: (chunk: Buffer) => void = () => undefined;
  constructor(
    private readonly meters: readonly { bus: MbusBus; dataDelayMs: number }[],
    private readonly baud: number,
  ) {}
  write(bytes: Buffer): Promise<void> {
    return new Promise((resolve) =>
      setTimeout(
        () => {
          this.#assembler.push(bytes);
          for (let frame = this.#assembler.next(); frame instanceof Buffer; frame = this.#assembler.next()) {
            this.#answer(frame);
          }
          resolve();
        },
        wireTimeMs(bytes.length, this.baud),
      ),
    );
  }
  #answer(frame: Buffer): void {
    const answers = this.meters.flatMap(({ bus, dataDelayMs }) => {
      const bytes = bus.handle(frame, Date.now()).answer?.bytes;
      return bytes === undefined ? [] : [{ bytes, startMs: bytes.length === 1 ? 5 : dataDelayMs }];
    });
    // Acknowledgements in lockstep are one E5 on the wire.
    const heard = answers.every((answer) => answer.bytes.length === 1) ? answers.slice(0, 1) : answers;
    for (const { bytes, startMs } of heard) {
      const at = startMs + wireTimeMs(bytes.length, this.baud);
      setTimeout(() => this.#listener(Buffer.from(bytes)), at);
    }
  }
  onData(listener: (chunk: Buffer) => void): void {
    this.#listener = listener;
  }
  onLost(): void {}
  discardInput(): Promise<void> {
    return Promise.resolve();
  }
  close(): Promise<void> {
    return Promise.resolve();
  }
}

describe('M-Bus secondary scan with meters acknowledging in lockstep', () => {
  it('takes a second RSP_UD after the first for a collision and searches deeper, as libmbus does', async () => {
    const baud = 9600;
    const [, water, , gas] = defaultMeters(4);
    const specs = [
      { ...(water as MeterSpec), address: 0, id: '11111111' },
      { ...(gas as MeterSpec), address: 0, id: '12222222' },
    ];
    // 45 and 39 bytes at 9600 Bd: the first RSP_UD is over at 57 ms; the second starts at 70 ms,
    // inside EN 13757-2's window (330 bit times + 50 ms = 84 ms).
    const meters = specs.map((spec, index) => ({
      bus: new MbusBus({ meters: [spec], startedAt: Date.now(), baud, fast: true }),
      dataDelayMs: index === 0 ? 5 : 70,
    }));
    const master = new MbusMaster(new LockstepPair(meters, baud), baud);
    const found = await scanSecondary(master, signal());
    expect(found.map((meter) => meter.secondary.slice(0, 8)).sort()).toEqual(['11111111', '12222222']);
  });
});

describe('M-Bus master: a bit error in an acknowledgement', () => {
  it('asks again when the E5 to a select of a whole secondary address comes garbled, instead of calling it two meters', async () => {
    const meter = { ...slowMeter(20), address: 0 };
    const bus = new MbusBus({ meters: [meter], startedAt: Date.now(), baud: BAUD });
    const line = new SimulatedLineLink(bus);
    let first = true;
    // The first byte the meter sends (its E5) takes a bit error: E4.
    const noisy = new RealLineLink(line, {
      received: (chunk) => {
        if (!first) return chunk;
        first = false;
        return Buffer.from([(chunk[0] ?? 0) ^ 0x01, ...chunk.subarray(1)]);
      },
    });
    const master = new MbusMaster(noisy, BAUD);
    const secondary = `${meter.id}FFFFFFFF`;
    const readout = await master.read({ secondary }, signal());
    expect(readout.secondary.slice(0, 8)).toBe(meter.id);
  });
});
