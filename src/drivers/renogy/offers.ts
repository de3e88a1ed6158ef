import type { AutoAdd, AutoAddDependencies, HeardDevice } from '../contract.js';
import { guessFamily } from './codec/index.js';

// Renogy devices are connected to only when configured (one central at a time: fieldbridge must not
// take a module the owner's phone app uses, nor a neighbour's), so nothing is added by itself. A BLE
// line that hears a Renogy name (BT-TH-…, RNGRBP…, BTRIC…, RTMShunt…) offers it once per run on
// `<base>/bridge/event` as `renogy_device_heard`, with the config line that would read it.

interface HeardNamed extends HeardDevice {
  readonly mac: string;
  readonly name: string;
  readonly adapter: string;
  readonly rssi?: number | undefined;
}

function isNamed(device: HeardDevice): device is HeardNamed {
  return (
    'mac' in device &&
    typeof device.mac === 'string' &&
    'name' in device &&
    typeof device.name === 'string' &&
    'adapter' in device &&
    typeof device.adapter === 'string' &&
    !('format' in device)
  );
}

export class RenogyOffers implements AutoAdd {
  readonly #dependencies: AutoAddDependencies;
  readonly #offered = new Set<string>();

  constructor(dependencies: AutoAddDependencies) {
    this.#dependencies = dependencies;
  }

  handle(device: HeardDevice): void {
    if (!isNamed(device) || this.#offered.has(device.mac)) return;
    const guess = guessFamily(device.name);
    if (guess === undefined) return;
    const configured = this.#dependencies
      .config()
      .devices.some((entry) => entry.driver === 'renogy' && entry.mac === device.mac);
    if (configured) return;
    this.#offered.add(device.mac);
    const heard = {
      mac: device.mac,
      name: device.name,
      adapter: device.adapter,
      ...(device.rssi === undefined ? {} : { rssi: device.rssi }),
    };
    const id = `renogy_${device.mac.replace(/:/g, '').toLowerCase()}`;
    const adapter = device.adapter === 'hci0' ? '' : `, adapter: ${device.adapter}`;
    const config = `{ id: ${id}, driver: renogy, mac: '${device.mac}'${adapter}, family: ${guess.family} }`;
    this.#dependencies.log(
      `Renogy device ${device.name} (${device.mac}) heard; read only once configured: ${config}`,
    );
    this.#dependencies.offer?.('renogy_device_heard', {
      ...heard,
      family: guess.family,
      config,
    });
  }

  stop(): void {
    this.#offered.clear();
  }
}
