import { describe, expect, it } from 'vitest';
import { settle, advance } from './helpers/time.js';
import { treeHarness } from './helpers/treeHarness.js';

// Shutdown as an OTP supervisor does it: the children stop the last started first (buses under the
// root, devices under their bus), each within its shutdown bound; one that never finishes stopping
// is left behind after its bound and the others still stop.

const BUSES = [
  { busId: 'bus:a', devices: [{ id: 'a1' }, { id: 'a2' }] },
  { busId: 'bus:b', devices: [{ id: 'b1' }, { id: 'b2' }, { id: 'b3' }] },
  { busId: 'bus:c', devices: [{ id: 'c1' }] },
];

/** A tree whose runtimes record every device release and bus close, in one list. */
async function recordingTree() {
  const harness = treeHarness(BUSES, {}, { shutdownMs: 500 });
  await advance(harness.clock, 200);
  const stops: string[] = [];
  for (const { busId } of BUSES) {
    const runtime = harness.runtime(busId);
    const disconnect = runtime.disconnect.bind(runtime);
    runtime.disconnect = (deviceId) => {
      stops.push(`release ${deviceId}`);
      return disconnect(deviceId);
    };
    const close = runtime.close.bind(runtime);
    runtime.close = () => {
      stops.push(`close ${busId}`);
      return close();
    };
  }
  return { ...harness, stops };
}

describe('supervision tree shutdown', () => {
  it('stops the buses the last started first, and the devices of each the last started first', async () => {
    const tree = await recordingTree();
    expect(tree.statusOf('c1')).toBe('connected.healthy');
    const outcomes = await tree.shutdown();
    expect(outcomes).toEqual({ 'bus:c': 'stopped', 'bus:b': 'stopped', 'bus:a': 'stopped' });
    // Closing a bus releases its devices again (idempotent): only the first release of each counts.
    const firsts = tree.stops.filter((line, index) => tree.stops.indexOf(line) === index);
    expect(firsts).toEqual([
      'release c1',
      'close bus:c',
      'release b3',
      'release b2',
      'release b1',
      'close bus:b',
      'release a2',
      'release a1',
      'close bus:a',
    ]);
    tree.stop();
  });

  it('cuts off a device that never releases its link after its bound, and still stops the rest', async () => {
    const tree = await recordingTree();
    const runtime = tree.runtime('bus:b');
    const release = runtime.disconnect;
    // b2's first release hangs (closing the bus afterwards releases it like the others).
    let hung = false;
    runtime.disconnect = (deviceId) => {
      if (deviceId !== 'b2' || hung) return release(deviceId);
      hung = true;
      void release(deviceId);
      return new Promise<void>(() => {});
    };
    let outcomes: Record<string, string> | undefined;
    void tree.shutdown().then((result) => (outcomes = result));
    await settle();
    expect(tree.stops).toContain('release b2');
    expect(tree.stops).not.toContain('release b1');
    await advance(tree.clock, 490);
    expect(tree.stops).not.toContain('release b1'); // b2 is still within its bound
    await advance(tree.clock, 20);
    expect(tree.stops).toContain('release b1');
    expect(tree.stops).toContain('close bus:a');
    expect(outcomes).toEqual({ 'bus:c': 'stopped', 'bus:b': 'stopped', 'bus:a': 'stopped' });
    tree.stop();
  });

  it('cuts off a bus that never closes after its bound, and still stops the buses started before it', async () => {
    const tree = await recordingTree();
    const runtime = tree.runtime('bus:c');
    runtime.close = () => new Promise<void>(() => {});
    let outcomes: Record<string, string> | undefined;
    void tree.shutdown().then((result) => (outcomes = result));
    // bus:c has one device: its bound is 500 ms for the device and 500 ms for closing the bus.
    await advance(tree.clock, 990);
    expect(tree.stops).not.toContain('release b3');
    await advance(tree.clock, 20);
    expect(tree.stops).toContain('release b3');
    expect(tree.stops).toContain('close bus:a');
    expect(outcomes).toEqual({ 'bus:c': 'timed_out', 'bus:b': 'stopped', 'bus:a': 'stopped' });
    tree.stop();
  });
});
