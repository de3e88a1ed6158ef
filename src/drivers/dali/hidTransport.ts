// The seam between the DALI driver and USB HID. The runtime only ever talks to a HidTransport (one
// opened adapter) found through a HidEnumerator; production uses node-hid with the hidraw driver
// (nodeHid.ts), the tests a fake hasseb adapter on a virtual DALI bus (simulator/), because there is no
// /dev/uhid to make a real HID device here.

/** One USB HID device as enumeration sees it. */
export interface HidAdapterInfo {
  /** The OS path (/dev/hidrawN); changes across replugs. */
  path: string;
  vendorId: number;
  productId: number;
  serialNumber?: string | undefined;
  product?: string | undefined;
}

/** An opened adapter: raw reports in and out (without a report id byte; hasseb uses none). */
export interface HidTransport {
  readonly info: HidAdapterInfo;
  /** Sends one output report. Rejects when the adapter is gone (read/write error = unplugged). */
  write(report: Buffer): Promise<void>;
  /** Every input report as it arrives; one listener, replaced by the next call. */
  onReport(listener: (report: Buffer) => void): void;
  /** Called once when the adapter goes away (I/O error, unplug). */
  onLost(listener: (reason: string) => void): void;
  /** Never rejects. */
  close(): Promise<void>;
}

export interface HidEnumerator {
  /** The HID devices present now (cheap enough to call about once a second). */
  list(): HidAdapterInfo[];
  /** Opens one of them; rejects with the OS's reason (permissions: see the README's udev rule). */
  open(info: HidAdapterInfo): Promise<HidTransport>;
}

/** hasseb DALI Master. */
export const HASSEB_VENDOR_ID = 0x04cc;
export const HASSEB_PRODUCT_ID = 0x0802;
