import type { OpenContext } from '../contract.js';
import { perGateway } from '../shared/perGateway.js';
import type { FakeHidEnumerator } from './simulator/index.js';

// Apart from the simulated transport (simulatedBus.ts), so the simulation faults request can reach the
// adapters without loading the simulator into a gateway that has none.

/**
 * The simulated adapters of one gateway (its OpenContext), one per bus, kept across bus restarts (lamps
 * keep their levels when the gateway's actors restart, as real lamps do) and dropped with the gateway:
 * two gateways in one process (tests) never share a fake adapter.
 */
/**
 * The simulated adapter of each simulated DALI bus of this context, by bus id. The simulated transport
 * and a scan open them here, the simulation faults request and tests pull their plug or cut a lamp's
 * power.
 */
export const simulatedDaliAdaptersOf: (context: OpenContext) => Map<string, FakeHidEnumerator> =
  perGateway<FakeHidEnumerator>();
