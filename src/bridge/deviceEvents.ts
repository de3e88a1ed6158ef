import type { DeviceConfig } from '../config/index.js';
import type { JsonValue } from '../drivers/contract.js';
import { DRIVERS } from '../drivers/registry.js';
import { type EventCapability, eventCapabilityOf } from '../drivers/shared/capabilities.js';
import type { OutboxDraft } from '../persistence/index.js';
import type { Topics } from './topics.js';

// A device's events (a panel's key presses) leave its reports here: each goes once to the device's
// event topic, not retained, and its fields stay out of the retained state. Home Assistant's event
// entity fires on every message of its topic, so a retained press would fire again after each HA
// restart, and a press kept in the state would fire again with each later state message of the device.
// Queued in the outbox like any message, a press made while the broker is away is sent when it is back.

type DeviceValues = Record<string, JsonValue>;

export class DeviceEvents {
  /** By the device's config object: a reloaded device is a new object, read again. */
  readonly #capabilities = new WeakMap<DeviceConfig, EventCapability | null>();

  constructor(
    private readonly topics: Topics,
    private readonly devices: ReadonlyMap<string, DeviceConfig>,
  ) {}

  /**
   * A report's values without its event's fields (what the state keeps), and the event message, when
   * the report names an event.
   */
  split(deviceId: string, values: DeviceValues): { state: DeviceValues; event?: OutboxDraft } {
    const capability = this.#capabilityOf(deviceId);
    if (!capability) return { state: values };
    const type = values[capability.key];
    const fields = [capability.key, ...(capability.attributes ?? [])];
    const state = Object.fromEntries(Object.entries(values).filter(([field]) => !fields.includes(field)));
    if (typeof type !== 'string') return { state };
    const attributes = Object.fromEntries(
      Object.entries(values).filter(([field]) => capability.attributes?.includes(field)),
    );
    return {
      state,
      event: {
        topic: this.topics.deviceEvent(deviceId),
        payload: JSON.stringify({ event_type: type, ...attributes }),
        qos: 1,
        retain: false,
        kind: 'event',
      },
    };
  }

  #capabilityOf(deviceId: string): EventCapability | undefined {
    const device = this.devices.get(deviceId);
    if (!device) return undefined;
    let capability = this.#capabilities.get(device);
    if (capability === undefined) {
      // From the config alone, as commands are checked: a device's events do not wait for its state.
      capability = eventCapabilityOf(DRIVERS[device.driver].capabilities(device, undefined)) ?? null;
      this.#capabilities.set(device, capability);
    }
    return capability ?? undefined;
  }
}
