import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { StateRestorer } from '../src/bridge/stateRestorer.js';
import { parseConfig } from '../src/config/index.js';
import { getLogger } from '../src/logging/index.js';
import { openPersistence, type Persistence } from '../src/persistence/index.js';
import type { JsonValue } from '../src/drivers/contract.js';
import type { RootEvent } from '../src/machines/rootSupervisor.js';

// What a lamp gets back after a power cut is where it was asked to be, not how it was asked to get
// there: a transition or Home Assistant's flash is not part of the desired state.

const cleanup: (() => void)[] = [];
afterEach(() => {
  for (const step of cleanup.splice(0)) step();
});

function restorer(
  pendingSets: (deviceId: string) => JsonValue[] = () => [],
  sent: RootEvent[] = [],
): { restorer: StateRestorer; persistence: Persistence } {
  const dir = mkdtempSync(join(tmpdir(), 'fb-restore-'));
  const persistence = openPersistence({ path: join(dir, 'db.sqlite') });
  cleanup.push(() => {
    persistence.close();
    rmSync(dir, { recursive: true, force: true });
  });
  const restorer = new StateRestorer(
    persistence,
    (event) => sent.push(event),
    getLogger('test'),
    () => undefined,
    pendingSets,
  );
  return { restorer, persistence };
}

describe('the desired state of a lamp', () => {
  it('keeps state and brightness of a command, not its transition or flash', () => {
    const { restorer: subject, persistence } = restorer();
    const [lamp] = parseConfig(
      'devices: [{ id: lamp, driver: dali, transport: simulated, address: 0 }]',
      {},
    ).devices;
    if (!lamp) throw new Error('no lamp in the config');
    subject.commanded(lamp, { state: 'ON', brightness: 120, transition: 2, flash: 10 }, 1_000);
    expect(persistence.desired.get('lamp')).toEqual({ state: 'ON', brightness: 120 });
  });
});

describe('a restore queued behind commands', () => {
  it('carries what the queued sets ask for, so it never puts back the state from before them', () => {
    const sent: RootEvent[] = [];
    const { restorer: subject } = restorer(
      (): JsonValue[] => [{ brightness: 50 }, { brightness: 150, transition: 1 }],
      sent,
    );
    const [lamp] = parseConfig(
      'devices: [{ id: lamp, driver: dali, transport: simulated, address: 0 }]',
      {},
    ).devices;
    if (!lamp) throw new Error('no lamp in the config');
    subject.commanded(lamp, { state: 'ON', brightness: 200 }, 1_000);
    subject.restore(lamp, 'it is available again');
    expect(sent).toEqual([
      expect.objectContaining({ type: 'COMMAND', operation: 'set', args: { state: 'ON', brightness: 150 } }),
    ]);
  });
});
