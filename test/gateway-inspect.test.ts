import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect, it, vi } from 'vitest';
import type { InspectionEvent } from 'xstate';
import { parseConfig } from '../src/config/index.js';
import { findDbusDaemon } from '../src/drivers/shared/bluez/simulator/daemon.js';
import { runGateway } from '../src/gateway.js';
import type * as InspectorModule from '../src/ops/inspector.js';
import { eventually } from './helpers/eventually.js';
import { freePort } from './helpers/mosquitto.js';

// `--inspect` shows every actor system of the gateway: besides the supervision tree, the MQTT link's
// and the BLE adapter watchdog's (each runs in an actor system of its own). The relay is replaced by a
// recorder of what the gateway hands it.

const inspected: InspectionEvent[] = [];
vi.mock('../src/ops/inspector.js', async (importOriginal) => {
  const actual = await importOriginal<typeof InspectorModule>();
  return {
    ...actual,
    startInspectorRelay: (port: number) =>
      Promise.resolve({
        port,
        inspect: (event: InspectionEvent) => inspected.push(event),
        stop: () => Promise.resolve(),
      }),
  };
});

/** The ids of the machines whose actors the inspector was told about. */
const machines = () =>
  new Set(
    inspected.map((event) => (event.actorRef as { logic?: { id?: unknown } }).logic?.id).filter(Boolean),
  );

it.skipIf(findDbusDaemon() === undefined)(
  'hands the inspector the events of the MQTT link and of the BLE watchdog',
  async () => {
    const dir = mkdtempSync(join(tmpdir(), 'fieldbridge-inspect-'));
    const config = parseConfig(
      [
        `mqtt: { embedded_port: ${await freePort()} }`,
        `persistence: { path: ${join(dir, 'fieldbridge.db')} }`,
        'logging: { level: error }',
        'ble: [{ adapter: hci0, transport: simulated }]',
      ].join('\n'),
      {},
    );
    const stop = new AbortController();
    const running = runGateway(config, { configSource: '(test)', signal: stop.signal, inspectPort: 1 });
    try {
      await eventually(() => ['link', 'bleWatchdog'].every((id) => machines().has(id)), {
        what: 'events of the MQTT link and of the BLE watchdog',
        timeoutMs: 10_000,
        detail: () => `machines seen: ${[...machines()].join(', ')}`,
      });
      // The tree is seen too, as it always was.
      expect(machines()).toContain('root');
      expect(machines()).toContain('busSupervisor');
    } finally {
      stop.abort();
      expect(await running).toBe(0);
    }
  },
);
