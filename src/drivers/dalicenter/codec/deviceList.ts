import type { FoundDevice, InboundMessage } from './inboundTypes.js';

// The gateway's device list arrives in several searchDevRes messages (notes §6.3): the cached list
// ("exited") until a message with searchStatus 0 or 1, a bus scan ("busDevice") as 2 = scanning,
// 3 = a batch, then 0 = finished with nothing found or 1 = finished with devices. This gathers one
// list, de-duplicated by unique id (the SDK does the same), and says what each message meant.

export type SearchProgress =
  | { kind: 'scanning' }
  | { kind: 'batch'; added: FoundDevice[] }
  | { kind: 'finished'; devices: FoundDevice[] }
  /** A searchDevRes of another search flag than the one being gathered. */
  | { kind: 'other_search' };

export type SearchFlagGathered = 'exited' | 'busDevice';

export class DeviceListGatherer {
  private readonly devices = new Map<string, FoundDevice>();
  private done = false;

  constructor(readonly searchFlag: SearchFlagGathered) {}

  get finished(): boolean {
    return this.done;
  }

  /** The devices gathered so far, in order of arrival. */
  list(): FoundDevice[] {
    return [...this.devices.values()];
  }

  /** Takes one searchDevRes; other messages are not its business (undefined). */
  add(message: InboundMessage): SearchProgress | undefined {
    if (message.cmd !== 'searchDevRes') return undefined;
    if (message.searchFlag !== this.searchFlag) return { kind: 'other_search' };
    const added = message.devices.filter((device) => !this.devices.has(device.uniqueId));
    for (const device of added) this.devices.set(device.uniqueId, device);
    if (message.searchStatus === 0 || message.searchStatus === 1) {
      this.done = true;
      return { kind: 'finished', devices: this.list() };
    }
    if (message.searchStatus === 2 && added.length === 0) return { kind: 'scanning' };
    return { kind: 'batch', added };
  }
}
