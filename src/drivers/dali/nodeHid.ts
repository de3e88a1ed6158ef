import { createRequire } from 'node:module';
import type NodeHid from 'node-hid';
import type { HidAdapterInfo, HidEnumerator, HidTransport } from './hidTransport.js';

// node-hid behind the HidTransport seam. On Linux it uses the hidraw driver: the libusb build would need
// libusb at run time and detaches the kernel driver, while hidraw only needs read/write access to
// /dev/hidraw* (the README's udev rule grants it). Output reports go out with report id 0 in front, as
// hidapi requires for devices without numbered reports; input reports arrive without it.

let loaded: typeof NodeHid | undefined;

/** node-hid is native: it is loaded when DALI hardware is first looked for, not by every gateway start. */
function hid(): typeof NodeHid {
  if (loaded) return loaded;
  loaded = createRequire(import.meta.url)('node-hid') as typeof NodeHid;
  if (process.platform === 'linux') loaded.setDriverType('hidraw');
  return loaded;
}

class NodeHidTransport implements HidTransport {
  #reportListener: (report: Buffer) => void = () => undefined;
  #lostListener: (reason: string) => void = () => undefined;
  #lost = false;
  #closing = false;

  constructor(
    readonly info: HidAdapterInfo,
    private readonly device: NodeHid.HIDAsync,
  ) {
    device.on('data', (data: Buffer) => this.#reportListener(data));
    device.on('error', (error: unknown) => this.#markLost(`USB read failed: ${String(error)}`));
  }

  #markLost(reason: string): void {
    if (this.#lost || this.#closing) return;
    this.#lost = true;
    this.#lostListener(reason);
  }

  async write(report: Buffer): Promise<void> {
    if (this.#lost) throw new Error(`the DALI adapter at ${this.info.path} is gone`);
    try {
      await this.device.write(Buffer.concat([Buffer.from([0]), report]));
    } catch (error) {
      this.#markLost(`USB write failed: ${String(error)}`);
      throw new Error(`write to the DALI adapter failed: ${String(error)}`);
    }
  }

  onReport(listener: (report: Buffer) => void): void {
    this.#reportListener = listener;
  }

  onLost(listener: (reason: string) => void): void {
    this.#lostListener = listener;
  }

  async close(): Promise<void> {
    this.#closing = true;
    await this.device.close().catch(() => undefined);
  }
}

export const nodeHidEnumerator: HidEnumerator = {
  list(): HidAdapterInfo[] {
    return hid()
      .devices()
      .flatMap((device) =>
        device.path === undefined
          ? []
          : [
              {
                path: device.path,
                vendorId: device.vendorId,
                productId: device.productId,
                serialNumber: device.serialNumber,
                product: device.product,
              },
            ],
      );
  },

  async open(info: HidAdapterInfo): Promise<HidTransport> {
    try {
      const device = await hid().HIDAsync.open(info.path);
      return new NodeHidTransport(info, device);
    } catch (error) {
      throw new Error(
        `cannot open the DALI adapter at ${info.path}: ${String(error)} (is the udev rule for hidraw access installed? see README)`,
      );
    }
  },
};
