import { bleLineBus } from './lineConfig.js';
import { bleSensorEntry, knownBleMac, lineAccepts, notAddedBecause } from './sensorDevices.js';
import type { LineScan, ScanContext, ScanRequest } from '../../gateway/scans.js';

// BLE lines: a scan listens on the line's running adapter for `duration_s` (default 10 s) and adds the
// sensors it heard in the line's formats: on its allow-list when it has one, else heard at its
// auto_add_min_rssi or stronger (the request's `min_rssi` overrides it), whatever `auto_add` says, and
// even those removed earlier: asking is consent. The answer lists every sensor heard, the ones left out
// with why. Sensors are passive, so "scanning" is listening; the adapter's discovery runs all the time.

export const DEFAULT_BLE_SCAN_S = 10;

function delay(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(resolve, ms);
    signal.addEventListener(
      'abort',
      () => {
        clearTimeout(timer);
        reject(signal.reason instanceof Error ? signal.reason : new Error('scan aborted'));
      },
      { once: true },
    );
  });
}

export function bleLineScan(context: ScanContext, request: ScanRequest): LineScan | { error: string } {
  const lines = context.config.ble;
  const line =
    request.adapter === undefined
      ? lines.length === 1
        ? lines[0]
        : undefined
      : lines.find((candidate) => candidate.adapter === request.adapter);
  if (!line) {
    const known = lines.map((candidate) => candidate.adapter).join(', ') || 'none';
    return {
      error:
        request.adapter === undefined
          ? `say which BLE adapter to listen on ("adapter"): known are ${known}`
          : `adapter ${request.adapter} is not a BLE line of this gateway (known: ${known}; add it under ble: in the config)`,
    };
  }
  const seconds = request.duration_s ?? DEFAULT_BLE_SCAN_S;
  return {
    line: `BLE adapter ${line.adapter}`,
    describe: `listening for ${seconds} s`,
    async run(signal, taken) {
      const runtime = context.registry.find(bleLineBus(line));
      // Loaded here, not at start: a gateway without BLE never loads dbus-next.
      const { BleBusRuntime } = await import('./runtime.js');
      if (!(runtime instanceof BleBusRuntime)) {
        throw new Error(`the bus of adapter ${line.adapter} is not running (is the gateway still starting?)`);
      }
      const started = Date.now();
      await delay(seconds * 1000, signal);
      const heard = runtime
        .heard()
        .filter((sensor) => sensor.lastHeardAt >= started && lineAccepts(line, sensor));
      const leftOut = new Map(
        heard.flatMap((sensor) => {
          const why = notAddedBecause(line, sensor, { minRssi: request.min_rssi });
          return why === undefined ? [] : [[sensor.mac, why] as const];
        }),
      );
      const devices = heard
        .filter(
          (sensor) =>
            sensor.deviceId === undefined &&
            !knownBleMac(context.config, sensor.mac) &&
            !leftOut.has(sensor.mac),
        )
        .map((sensor) => bleSensorEntry(sensor, line, taken));
      const found = heard.map((sensor) => {
        const id = sensor.deviceId ?? devices.find((device) => device.config.mac === sensor.mac)?.id ?? null;
        const why = leftOut.get(sensor.mac);
        return {
          mac: sensor.mac,
          id,
          name: sensor.name ?? null,
          format: sensor.format,
          encrypted: sensor.encrypted,
          rssi: sensor.rssi ?? null,
          ...(id === null && why !== undefined ? { not_added: why } : {}),
        };
      });
      return { found, devices };
    },
  };
}
