import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { StateRestorer } from '../src/bridge/stateRestorer.js';
import { parseConfig } from '../src/config/index.js';
import { getLogger } from '../src/logging/index.js';
import { openPersistence, type Persistence } from '../src/persistence/index.js';

// What a lamp gets back after a power cut is where it was asked to be, not how it was asked to get
// there: a transition or Home Assistant's flash is not part of the desired state.

const cleanup: (() => void)[] = [];
afterEach(() => {
  for (const step of cleanup.splice(0)) step();
});

function restorer(): { restorer: StateRestorer; persistence: Persistence } {
  const dir = mkdtempSync(join(tmpdir(), 'fb-restore-'));
  const persistence = openPersistence({ path: join(dir, 'db.sqlite') });
  cleanup.push(() => {
    persistence.close();
    rmSync(dir, { recursive: true, force: true });
  });
  const restorer = new StateRestorer(
    persistence,
    () => undefined,
    getLogger('test'),
    () => undefined,
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
