// How a connected BLE device fails in the field (notes: renogy.md §5.3, bleak and BlueZ issues), made
// switchable per device of the fake BlueZ: Connect aborted (le-connection-abort-by-local), InProgress, a
// Connect never answered, a piece of a notification lost, bytes garbled, an answer sent late, the device
// taken by another central, and services missing after a reconnect.

/** What the next Connect does. */
export type ConnectOutcome = 'ok' | 'abort' | 'in_progress' | 'hang';

/** How the fake sends one notification: the bytes, the piece to leave out (-1: none), extra delay. */
export interface NotificationPlan {
  bytes: Uint8Array;
  drop: number;
  extraDelayMs: number;
}

export class GattFaults {
  /** Scripted outcomes of the next Connect calls, first first. */
  readonly #connects: ConnectOutcome[] = [];
  /** Every Connect hangs (bluetoothd waiting on a controller that never answers). */
  hangConnects = false;
  /**
   * Scanning and a connect in setup do not mix, as in the field: a Connect while the adapter discovers
   * fails with le-connection-abort-by-local (Pi Zero reports, renogy.md §5.3), and a link whose services
   * are still being resolved while discovery runs again dies (stoprocent/noble#136: BlueZ resumed a
   * full-duty scan right after LE Connection Complete and the link dropped before any ATT exchange).
   * The fake's default, so a client that scans during a connect sees it.
   */
  abortWhileScanning = true;
  /** Services resolve but no GATT object is there (the cache was dropped, discovery came back empty). */
  servicesMissing = false;
  /** Extra delay of every notification (a late answer). */
  lateMs = 0;
  readonly #drops: number[] = [];
  readonly #garbles: ((bytes: Uint8Array) => Uint8Array)[] = [];
  #taken = false;
  /** Called when the device is taken while we are connected (the device drops our link). */
  onTaken: () => void = () => undefined;

  /** The next `count` Connect calls end so. */
  failConnects(outcome: Exclude<ConnectOutcome, 'ok'>, count = 1): void {
    for (let i = 0; i < count; i += 1) this.#connects.push(outcome);
  }

  nextConnect(): ConnectOutcome {
    if (this.hangConnects) return 'hang';
    return this.#connects.shift() ?? 'ok';
  }

  /** The next notification loses its piece number `piece` (0 = the first 20 bytes). */
  dropPiece(piece = 1): void {
    this.#drops.push(piece);
  }

  /** The next notification's bytes go through `garble` (a bad CRC, a wrong id, noise). */
  garbleNext(garble: (bytes: Uint8Array) => Uint8Array): void {
    this.#garbles.push(garble);
  }

  get takenByOtherCentral(): boolean {
    return this.#taken;
  }

  /**
   * Another central (the phone app) holds the device: our link drops, it stops advertising and every
   * Connect is aborted until it is released.
   */
  setTakenByOtherCentral(taken: boolean): void {
    this.#taken = taken;
    if (taken) this.onTaken();
  }

  planNotification(bytes: Uint8Array): NotificationPlan {
    const garble = this.#garbles.shift();
    return {
      bytes: garble === undefined ? bytes : garble(Uint8Array.from(bytes)),
      drop: this.#drops.shift() ?? -1,
      extraDelayMs: this.lateMs,
    };
  }

  clear(): void {
    this.#connects.length = 0;
    this.#drops.length = 0;
    this.#garbles.length = 0;
    this.hangConnects = false;
    this.servicesMissing = false;
    this.lateMs = 0;
    this.#taken = false;
  }
}
