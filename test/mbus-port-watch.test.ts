import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { PortWatch } from '../src/drivers/mbus/portWatch.js';
import { advance, simulatedClock } from './helpers/time.js';

// The watch over a serial port's path polls on the clock it is given: a converter unplugged and
// plugged back is noticed within one interval of simulated time (here a minute, far beyond a test's
// real time).

const dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

function port(): string {
  const dir = mkdtempSync(join(tmpdir(), 'fieldbridge-port-'));
  dirs.push(dir);
  const path = join(dir, 'ttyUSB0');
  writeFileSync(path, '');
  return path;
}

describe('M-Bus port watch on an injected clock', () => {
  it('reports the port gone while open, and back after a replug, one interval of simulated time later', async () => {
    const clock = simulatedClock();
    const path = port();
    let present = 0;
    const watch = new PortWatch(60_000, () => (present += 1), clock);
    let gone = false;
    watch.whileOpen(path, () => (gone = true));
    rmSync(path);
    await advance(clock, 59_000, 1_000);
    expect(gone).toBe(false);
    await advance(clock, 1_000, 1_000);
    expect(gone).toBe(true);

    watch.start(path);
    await advance(clock, 60_000, 1_000); // still unplugged: noted as gone
    writeFileSync(path, '');
    await advance(clock, 59_000, 1_000);
    expect(present).toBe(0);
    await advance(clock, 1_000, 1_000);
    expect(present).toBe(1);
    watch.stop();
  });
});
