import type { OpenContext } from '../contract.js';
import { perGateway } from '../shared/perGateway.js';
import type { SimulatedDaliCenter } from './simulator/index.js';

// Apart from the simulator (simulatedBus.ts fills it), so the simulation faults request and tests reach
// the simulated gateways without loading it.

/**
 * The simulated DALI Center gateways of one gateway (its OpenContext), one per bus, stopped with it: two
 * gateways in one process (tests) never share a simulated DALI Center.
 */
/** The simulated DALI Center of each simulated bus of this context, by bus id. */
export const simulatedDaliCentersOf: (context: OpenContext) => Map<string, SimulatedDaliCenter> =
  perGateway<SimulatedDaliCenter>(async (gateways) => {
    await Promise.all(gateways.map((gateway) => gateway.stop()));
  });
