// The MQTT topic layout, in one place: every topic the gateway publishes or listens to is built or
// parsed here, so the README's topic API, the publisher and the command router cannot drift apart.

export type IncomingTopic =
  | { kind: 'device_set'; deviceId: string }
  | { kind: 'device_get'; deviceId: string }
  | { kind: 'request'; name: string }
  | { kind: 'homeassistant_status' };

export class Topics {
  constructor(
    readonly base: string,
    readonly discoveryPrefix = 'homeassistant',
    readonly homeassistantStatus = 'homeassistant/status',
  ) {}

  /** Retained `{"state":"online"|"offline"}`, also the Last Will. */
  get bridgeState(): string {
    return `${this.base}/bridge/state`;
  }
  get bridgeHealth(): string {
    return `${this.base}/bridge/health`;
  }
  get bridgeInfo(): string {
    return `${this.base}/bridge/info`;
  }
  get bridgeDevices(): string {
    return `${this.base}/bridge/devices`;
  }
  get bridgeEvent(): string {
    return `${this.base}/bridge/event`;
  }
  response(name: string): string {
    return `${this.base}/bridge/response/${name}`;
  }
  /** Retained state of a device. */
  device(deviceId: string): string {
    return `${this.base}/${deviceId}`;
  }
  /** A device's events (a key pressed), one message each, not retained. */
  deviceEvent(deviceId: string): string {
    return `${this.base}/${deviceId}/event`;
  }
  availability(deviceId: string): string {
    return `${this.base}/${deviceId}/availability`;
  }
  reading(deviceId: string): string {
    return `${this.base}/${deviceId}/reading`;
  }
  /** Where the result of a `set`/`get` command is answered. */
  deviceResponse(deviceId: string): string {
    return `${this.base}/${deviceId}/response`;
  }
  /** Home Assistant discovery config of one entity. */
  discovery(component: string, nodeId: string, objectId: string): string {
    return `${this.discoveryPrefix}/${component}/${nodeId}/${objectId}/config`;
  }

  /** The filters the gateway subscribes to. */
  get subscriptions(): string[] {
    return [
      `${this.base}/+/set`,
      `${this.base}/+/get`,
      `${this.base}/bridge/request/#`,
      this.homeassistantStatus,
    ];
  }

  /** What an incoming message is about, or undefined for a topic the gateway does not handle. */
  parse(topic: string): IncomingTopic | undefined {
    if (topic === this.homeassistantStatus) return { kind: 'homeassistant_status' };
    const prefix = `${this.base}/`;
    if (!topic.startsWith(prefix)) return undefined;
    const rest = topic.slice(prefix.length);
    const requestPrefix = 'bridge/request/';
    if (rest.startsWith(requestPrefix)) {
      const name = rest.slice(requestPrefix.length);
      return name.length > 0 ? { kind: 'request', name } : undefined;
    }
    const parts = rest.split('/');
    if (parts.length !== 2 || parts[0] === 'bridge' || !parts[0]) return undefined;
    if (parts[1] === 'set') return { kind: 'device_set', deviceId: parts[0] };
    if (parts[1] === 'get') return { kind: 'device_get', deviceId: parts[0] };
    return undefined;
  }
}
