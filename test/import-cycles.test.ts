import { describe, expect, it } from 'vitest';
import { folderCycles, folderGraph, runtimeImports } from './helpers/importGraph.js';

// ESM evaluates a cycle of static imports in an order that can read a binding before it is initialised
// (a TDZ crash at start, or only on some entry points). Between folders such a cycle comes from two
// parts of the code that each take the other for the leaf: a shared type or helper goes to a leaf
// module both import (test/helpers/importGraph.ts reads the imports).

/**
 * Folder imports that still close cycles, each removed by another part of issue 17: the drivers' found
 * devices are built with config's deviceSchema and the scans' freeId/meterDeviceEntry (gateway/scans.ts,
 * gateway/discovered.ts, which import the drivers), and the M-Bus line config and the meter
 * simulator's file reuse config/devices.ts and config/issues.ts (config imports the drivers' line
 * configs). This list only shrinks; once empty, delete it.
 */
const BEING_REMOVED: readonly (readonly [string, string])[] = [];

describe('import cycles between src/ folders', () => {
  it('reads runtime imports and leaves type-only ones out', () => {
    const source = [
      "import { a } from './a.js';",
      "import type { B } from '../b.js';",
      "import { type C, type D } from '../c.js';",
      "import { type E, f } from '../ef.js';",
      "export { g } from './g.js';",
      "export type { H } from './h.js';",
      "// import { i } from './i.js';",
      "const j = await import('./j.js');",
      "import k, { type L } from './kl.js';",
    ].join('\n');
    expect(runtimeImports(source)).toEqual(['./a.js', '../ef.js', './g.js', './kl.js']);
  });

  it('finds a cycle and says which imports make it', () => {
    const graph = new Map([
      ['cli', new Map([['drivers', 'cli/simulate.ts → drivers/registry.ts']])],
      ['drivers', new Map([['cli', 'drivers/x.ts → cli/io.ts']])],
      ['http', new Map([['cli', 'http/a.ts → cli/io.ts']])],
    ]);
    expect(folderCycles(graph)).toEqual([
      ['cli/simulate.ts → drivers/registry.ts', 'drivers/x.ts → cli/io.ts'],
    ]);
  });

  it('has none, but for the imports other parts of issue 17 are removing', () => {
    const graph = folderGraph();
    for (const [from, to] of BEING_REMOVED) graph.get(from)?.delete(to);
    expect(folderCycles(graph)).toEqual([]);
  });

  it('lists only imports that still exist among those being removed', () => {
    const graph = folderGraph();
    const gone = BEING_REMOVED.filter(([from, to]) => !graph.get(from)?.has(to));
    expect(gone, 'these imports are gone: delete them from BEING_REMOVED').toEqual([]);
  });
});
