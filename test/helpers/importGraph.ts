import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';

// ESM evaluates a cycle of static imports in an order that can read a binding before it is initialised
// (a TDZ crash at start, or worse, only on some entry points). Within a folder that is the author's to
// see; between folders it comes from two parts of the code that each think the other is the leaf. So no
// runtime import cycle between src/ folders: a shared type or helper goes to a leaf module both import.
// `import type` and `export type` vanish at compile time, and `import()` runs after every module has
// loaded, so neither counts.

const SRC = resolve(import.meta.dirname, '../../src');

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return sourceFiles(path);
    return entry.name.endsWith('.ts') && !entry.name.endsWith('.d.ts') ? [path] : [];
  });
}

/** Relative specifiers of a file's static runtime imports and re-exports. */
export function runtimeImports(source: string): string[] {
  // Comments out first: an example import in a comment is not an import.
  const code = source.replace(/\/\*[\s\S]*?\*\//g, '').replace(/^\s*\/\/.*$/gm, '');
  const specifiers: string[] = [];
  const statement = /^\s*(import|export)\s+(type\s+)?([^;'"]*?\bfrom\s+)?['"](\.[^'"]+)['"]/gm;
  for (const match of code.matchAll(statement)) {
    const [, keyword, typeOnly, clause = '', specifier] = match;
    if (typeOnly !== undefined || specifier === undefined) continue;
    if (keyword === 'export' && clause === '') continue;
    // `import { type A, type B } from` is erased too (verbatimModuleSyntax keeps it as a side effect,
    // but nothing of it is evaluated before the importer runs).
    const names = /\{([^}]*)\}/.exec(clause)?.[1];
    const onlyTypes =
      names !== undefined &&
      names
        .split(',')
        .map((name) => name.trim())
        .filter((name) => name !== '')
        .every((name) => name.startsWith('type '));
    const hasDefaultOrNamespace = /^\s*(\w+|\*\s+as\s+\w+)\s*(,|from)/.test(clause);
    if (onlyTypes && !hasDefaultOrNamespace) continue;
    specifiers.push(specifier);
  }
  return specifiers;
}

/** A file's node: its folder relative to src/; a file directly in src/ (gateway.ts, errorText.ts) is its own. */
function nodeOf(file: string): string {
  const folder = relative(SRC, dirname(file));
  return folder === '' ? relative(SRC, file).replace(/\.[jt]s$/, '') : folder;
}

/** Folder (relative to src/) → the folders its files import at run time, with one example import each. */
export type FolderGraph = Map<string, Map<string, string>>;

/** Every source file of src/ → the files it imports at run time (statically). */
export function fileImports(): Map<string, string[]> {
  return new Map(
    sourceFiles(SRC).map((file) => [
      file,
      runtimeImports(readFileSync(file, 'utf8')).map((specifier) =>
        resolve(dirname(file), specifier).replace(/\.js$/, '.ts'),
      ),
    ]),
  );
}

/** The files of src/ that loading `entry` (relative to src/) evaluates, relative to src/. */
export function loadedBy(entry: string): Set<string> {
  const imports = fileImports();
  const loaded = new Set<string>();
  const pending = [resolve(SRC, entry)];
  for (let file = pending.pop(); file !== undefined; file = pending.pop()) {
    if (loaded.has(file)) continue;
    loaded.add(file);
    pending.push(...(imports.get(file) ?? []));
  }
  return new Set([...loaded].map((file) => relative(SRC, file)));
}

/**
 * Whether loading `file` evaluates a module outside its own folder. One that does not (a leaf, or
 * drivers/contract.ts re-exporting the contract's other files beside it) leads nowhere: importing it
 * cannot close a cycle, whatever else its folder holds.
 */
function leavesItsFolder(file: string, imports: Map<string, string[]>): boolean {
  const folder = nodeOf(file);
  const seen = new Set<string>();
  const pending = [file];
  for (let next = pending.pop(); next !== undefined; next = pending.pop()) {
    if (seen.has(next)) continue;
    seen.add(next);
    for (const target of imports.get(next) ?? []) {
      if (nodeOf(target) !== folder) return true;
      pending.push(target);
    }
  }
  return false;
}

export function folderGraph(): FolderGraph {
  const imports = fileImports();
  const graph: FolderGraph = new Map();
  for (const [file, targets] of imports) {
    const from = nodeOf(file);
    for (const target of targets) {
      if (!leavesItsFolder(target, imports)) continue;
      const to = nodeOf(target);
      if (to === from || to.startsWith('..')) continue;
      const edges = graph.get(from) ?? new Map<string, string>();
      if (!edges.has(to)) edges.set(to, `${relative(SRC, file)} → ${relative(SRC, target)}`);
      graph.set(from, edges);
    }
  }
  return graph;
}

/** The shortest path of folders from `from` to `to`, or undefined when there is none. */
function shortestPath(graph: FolderGraph, from: string, to: string): string[] | undefined {
  const previous = new Map<string, string>([[from, from]]);
  const queue = [from];
  for (let node = queue.shift(); node !== undefined; node = queue.shift()) {
    for (const next of graph.get(node)?.keys() ?? []) {
      if (previous.has(next)) continue;
      previous.set(next, node);
      if (next === to) {
        const path = [to];
        for (let step = node; step !== from; step = previous.get(step) ?? from) path.unshift(step);
        return [from, ...path];
      }
      queue.push(next);
    }
  }
  return undefined;
}

/**
 * The cycles between folders: for each import that leads back to its own folder, the shortest such
 * cycle, as the example imports that make it (each cycle once).
 */
export function folderCycles(graph: FolderGraph): string[][] {
  const seen = new Set<string>();
  const cycles: string[][] = [];
  for (const [from, edges] of graph) {
    for (const to of edges.keys()) {
      const back = shortestPath(graph, to, from);
      if (!back) continue;
      const folders = [from, ...back.slice(0, -1)];
      // The same cycle starts at any of its folders: one key for all rotations.
      const start = folders.indexOf([...folders].sort()[0] ?? from);
      const key = [...folders.slice(start), ...folders.slice(0, start)].join(' → ');
      if (seen.has(key)) continue;
      seen.add(key);
      cycles.push(
        folders.map((folder, i) => graph.get(folder)?.get(folders[(i + 1) % folders.length] ?? '') ?? ''),
      );
    }
  }
  return cycles;
}
