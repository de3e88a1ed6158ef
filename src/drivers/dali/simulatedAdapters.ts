import type { FakeHidEnumerator } from './simulator/index.js';

// Apart from the simulated transport (simulatedBus.ts), so the simulation faults request can reach the
// adapters without loading the simulator into a gateway that has none.

/**
 * The simulated adapters of this process, one per bus, kept across bus restarts (lamps keep their
 * levels when the gateway's actors restart, as real lamps do). Tests reach them to pull the plug or cut
 * a lamp's power.
 */
export const simulatedDaliAdapters = new Map<string, FakeHidEnumerator>();
