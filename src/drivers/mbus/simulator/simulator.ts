import { SerialPort } from 'serialport';
import { CONTROL_HELP, ControlError, parseControlCommand } from './control.js';
import { describeFaults, type Faults } from './faults.js';
import { defaultMeters, type MeterSpec } from './meters.js';
import { SocatPty } from './pty.js';
import { SimulatedLine } from './line.js';
import { TcpConverter } from './tcpConverter.js';
import { describeMeter, MbusBus, type MeterState } from './slave.js';
import { errorText } from '../../../errorText.js';

// The simulator as a process part: the bus state machine (slave.ts) served on the simulator's end of a
// socat pty pair, with the faults a person or a test drives at run time. The gateway under test opens
// `link` exactly as it opens a USB M-Bus adapter, so the whole serial path is exercised.

export interface MbusSimulatorOptions {
  /** The gateway's end: the serial port path the gateway is configured with (pty). */
  link?: string;
  /** Serve the meters behind a TCP converter instead of a pty: its port (0: any free one). */
  tcpPort?: number;
  /** The TCP converter's address; default 127.0.0.1. */
  tcpHost?: string;
  /** Default: 3 meters of different media at addresses 1-3 (see defaultMeters). */
  meters?: readonly MeterSpec[];
  baud?: number;
  /** No simulated time on the wire (tests). */
  fast?: boolean;
  turnaroundMs?: number;
  seed?: number;
  faults?: Partial<Faults>;
  /** The socat executable. */
  socat?: string;
  /** One line per event (default: nothing). */
  log?: (line: string) => void;
  /** Also log every frame received and sent. */
  verbose?: boolean;
  /** Clock for the counters; default Date.now. */
  now?: () => number;
  /** Meters answer at their own moments across the standard's window (see BusOptions). */
  spreadAnswers?: boolean;
  answerWindowMs?: number;
}

export type SimulatorState = 'stopped' | 'running' | 'unplugged';

export class MbusSimulator {
  readonly bus: MbusBus;
  readonly #pty: SocatPty | undefined;
  readonly #tcp: TcpConverter | undefined;
  readonly #baud: number;
  readonly #log: (line: string) => void;
  /** The meters' side of the wire: answers at their moments, characters at the baud rate. */
  readonly #line: SimulatedLine;
  #port: SerialPort | undefined;
  #state: SimulatorState = 'stopped';

  constructor(options: MbusSimulatorOptions) {
    if ((options.link === undefined) === (options.tcpPort === undefined)) {
      throw new Error('the simulator needs either a pty link or a TCP port (not both)');
    }
    this.#log = options.log ?? (() => undefined);
    this.bus = new MbusBus({
      meters: options.meters ?? defaultMeters(3),
      startedAt: (options.now ?? Date.now)(),
      seed: options.seed,
      baud: options.baud,
      fast: options.fast,
      turnaroundMs: options.turnaroundMs,
      faults: options.faults,
      spreadAnswers: options.spreadAnswers,
      answerWindowMs: options.answerWindowMs,
    });
    this.#baud = this.bus.baud;
    this.#line = new SimulatedLine({
      bus: this.bus,
      now: options.now,
      log: this.#log,
      verbose: options.verbose,
      send: (bytes) => {
        // An unplug in between ends the answer, as pulling the adapter would.
        if (this.#tcp !== undefined) this.#tcp.send(bytes);
        else if (this.#port?.isOpen) this.#port.write(bytes);
      },
    });
    this.#tcp =
      options.tcpPort === undefined
        ? undefined
        : new TcpConverter({ port: options.tcpPort, host: options.tcpHost });
    this.#pty =
      options.link === undefined
        ? undefined
        : new SocatPty({
            link: options.link,
            socat: options.socat,
            onUnexpectedExit: (detail) => {
              if (this.#state !== 'running') return;
              this.#state = 'unplugged';
              this.#log(`${detail}; the link is gone until "replug"`);
              void this.#pullOut();
            },
          });
  }

  /** Where the gateway connects: the pty link's path, or tcp://host:port. */
  get link(): string {
    return this.#tcp?.address ?? this.#pty?.link ?? '';
  }

  /**
   * The TCP converter forgets its client without closing the connection (it lost power for an instant,
   * say): the client's connection is half-open, nothing is answered on it; a new connection is served.
   */
  halfOpen(): void {
    if (this.#tcp === undefined) throw new ControlError('halfopen needs the simulator served over TCP');
    const had = this.#tcp.halfOpen();
    this.#line.halt();
    this.#log(
      had ? 'the client connection is half-open now: nothing goes through it' : 'no client to forget',
    );
  }

  get state(): SimulatorState {
    return this.#state;
  }

  /** socat's process id while plugged in (tests kill it to play a crash). */
  get socatPid(): number | undefined {
    return this.#pty?.pid;
  }

  /** Requests the meters took, and those that came while a meter was still answering. */
  get requests(): { taken: number; interrupted: number } {
    return { taken: this.#line.requests, interrupted: this.#line.interrupted };
  }

  /** The simulator's own end of the pty pair. */
  get simLink(): string {
    return this.#pty?.simLink ?? this.link;
  }

  async start(): Promise<void> {
    if (this.#state !== 'stopped') return;
    await this.#plugIn();
    this.#state = 'running';
    const meters = this.bus.meters.map((meter) => `${meter.address}:${meter.spec.medium}`).join(', ');
    this.#log(`serving ${this.bus.meters.length} meters (${meters}) on ${this.link} at ${this.#baud} Bd`);
  }

  async stop(): Promise<void> {
    if (this.#state === 'stopped') return;
    this.#state = 'stopped';
    await this.#pullOut();
    this.#log('stopped');
  }

  /** Pulls the adapter out: socat is killed, the gateway's port hangs up and `link` disappears. */
  async unplug(): Promise<void> {
    if (this.#state !== 'running') throw new ControlError(`cannot unplug: the simulator is ${this.#state}`);
    this.#state = 'unplugged';
    await this.#pullOut();
    this.#log(`unplugged: ${this.link} removed`);
  }

  /** Plugs it back in: a new pty pair at the same `link`; the gateway can open it again. */
  async replug(): Promise<void> {
    if (this.#state !== 'unplugged') throw new ControlError(`cannot replug: the simulator is ${this.#state}`);
    await this.#plugIn();
    this.#state = 'running';
    this.#log(`replugged: ${this.link} is back`);
  }

  setFaults(update: Partial<Faults>): Faults {
    const faults = this.bus.setFaults(update);
    this.#log(`faults: ${describeFaults(faults)}`);
    return faults;
  }

  /** A meter by primary address or 8-digit id; an error naming the key when there is none. */
  meter(key: number | string): MeterState {
    const meter = this.bus.findMeter(key);
    if (meter === undefined) {
      const known = this.bus.meters
        .map((candidate) => `${candidate.address} (${candidate.spec.id})`)
        .join(', ');
      throw new ControlError(`no meter with primary address or id "${key}"; meters: ${known}`);
    }
    return meter;
  }

  /** A dead meter ignores every frame, as if its bus cable were cut; alive again, it answers as before. */
  setMeterAlive(key: number | string, alive: boolean): MeterState {
    const meter = this.meter(key);
    meter.alive = alive;
    if (!alive) meter.selected = false;
    this.#log(`${describeMeter(meter)} is ${alive ? 'alive' : 'dead'}`);
    return meter;
  }

  status(): string[] {
    return [`${this.#state} on ${this.link}`, ...this.bus.describe()];
  }

  /** Runs one control line (stdin); logs and returns what happened; a failure is logged, not thrown. */
  async execute(line: string): Promise<string> {
    let message: string;
    try {
      const command = parseControlCommand(line);
      if (command === undefined) return '';
      switch (command.kind) {
        case 'unplug':
          await this.unplug();
          return 'unplugged';
        case 'replug':
          await this.replug();
          return 'replugged';
        case 'faults':
          return `faults: ${describeFaults(this.setFaults(command.update))}`;
        case 'halfopen':
          this.halfOpen();
          return 'half-open';
        case 'meter':
          this.setMeterAlive(command.meter, command.alive);
          return `meter ${command.meter} ${command.alive ? 'alive' : 'dead'}`;
        case 'status':
          message = this.status().join('\n');
          break;
        case 'help':
          message = CONTROL_HELP;
          break;
      }
    } catch (error) {
      // A typo or a failed replug (socat gone) is reported and the simulator carries on.
      message = `error: ${errorText(error)}`;
    }
    this.#log(message);
    return message;
  }

  async #plugIn(): Promise<void> {
    if (this.#tcp !== undefined) {
      this.#line.halt();
      await this.#tcp.start((chunk) => this.#line.receive(chunk), this.#log);
      return;
    }
    if (this.#pty === undefined) return;
    await this.#pty.start();
    const port = new SerialPort({
      path: this.#pty.simLink,
      baudRate: this.#baud,
      dataBits: 8,
      parity: 'even',
      stopBits: 1,
      autoOpen: false,
    });
    try {
      await new Promise<void>((resolve, reject) => port.open((error) => (error ? reject(error) : resolve())));
    } catch (error) {
      await this.#pty.stop();
      throw error;
    }
    this.#line.halt();
    port.on('data', (chunk: Buffer) => this.#line.receive(chunk));
    port.on('error', (error: Error) => this.#log(`simulator port error: ${error.message}`));
    this.#port = port;
  }

  /** Stops answering and closes both ends. */
  async #pullOut(): Promise<void> {
    this.#line.halt();
    const port = this.#port;
    this.#port = undefined;
    await this.#tcp?.stop();
    // socat first: the gateway must see a hang-up, not a quiet line.
    await this.#pty?.stop();
    if (port?.isOpen) await new Promise<void>((resolve) => port.close(() => resolve()));
  }
}
