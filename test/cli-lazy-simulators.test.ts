import { describe, expect, it } from 'vitest';
import { loadedBy } from './helpers/importGraph.js';

// `fieldbridge simulate <bus>` reaches a driver's simulator through DriverModule.simulate, whose `run`
// imports the simulator's command line only when it runs: starting the gateway (or any other command)
// loads none of them.

describe('the CLI and the simulators', () => {
  it('loads no simulator command line until `simulate` runs one', () => {
    const loaded = [...loadedBy('cli.ts')];
    expect(loaded).toContain('cli/simulate.ts');
    expect(loaded.filter((file) => /\/simulator\/cli\.ts$/.test(file))).toEqual([]);
  });
});
