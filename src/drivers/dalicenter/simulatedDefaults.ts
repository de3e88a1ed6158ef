import type { GatewayCredentials } from './codec/index.js';

// The simulated gateway's defaults, in one place: the gateway takes them, the CLI's help names them,
// and the simulated transport logs in with what the gateway it created reveals, never a copy of these.
// Apart from the simulator (declarations only): the help text shows them without loading it.

/** gwSn of a simulated gateway without one (the HA core fixtures' serial). */
export const DEFAULT_SIMULATED_SERIAL = '6A242121110E';

/** What a simulated gateway's broker accepts, and its button reveals, when it is not told otherwise. */
export const DEFAULT_SIMULATED_CREDENTIALS: Readonly<GatewayCredentials> = {
  username: 'admin',
  password: 'password123',
};
