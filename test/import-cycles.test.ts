import { describe, expect, it } from 'vitest';
import { folderCycles, folderGraph, runtimeImports } from './helpers/importGraph.js';

// ESM evaluates a cycle of static imports in an order that can read a binding before it is initialised
// (a TDZ crash at start, or only on some entry points). Between folders such a cycle comes from two
// parts of the code that each take the other for the leaf: a shared type or helper goes to a leaf
// module both import (test/helpers/importGraph.ts reads the imports).

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

  it('has none', () => {
    expect(folderCycles(folderGraph())).toEqual([]);
  });
});
