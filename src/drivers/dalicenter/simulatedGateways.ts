import type { SimulatedDaliCenter } from './simulator/index.js';

// The process's simulated DALI Center gateways by bus, apart from the simulator so that the fault
// request and tests can reach them without loading it. Filled by simulatedBus.ts.

export const simulatedGateways = new Map<string, SimulatedDaliCenter>();
