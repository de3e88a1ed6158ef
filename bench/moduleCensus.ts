import { readFileSync } from 'node:fs';

// Which modules a process loads, seen from its module loader: `--import` the data URL below and every
// module the ESM loader resolves is appended to the file named by $FB_MODULE_LOG (loader hooks run on a
// thread of their own, and a file is the simplest way out of it). CommonJS modules that a package
// require()s internally are not seen; the package's entry point is.

const HOOK = `data:text/javascript,${encodeURIComponent(
  "import { appendFileSync } from 'node:fs';" +
    'export async function resolve(specifier, context, next) {' +
    '  const resolved = await next(specifier, context);' +
    "  appendFileSync(process.env.FB_MODULE_LOG, resolved.url + '\\n');" +
    '  return resolved;' +
    '}',
)}`;

/** The `--import` argument that turns the log on (with FB_MODULE_LOG in the environment). */
export const MODULE_LOG_IMPORT = `data:text/javascript,${encodeURIComponent(
  `import { register } from 'node:module'; register(${JSON.stringify(HOOK)});`,
)}`;

/** The distinct modules logged so far, as `src/…`, `node_modules/…` or `node:…` paths. */
export function loggedModules(log: string): string[] {
  let text = '';
  try {
    text = readFileSync(log, 'utf8');
  } catch {
    return [];
  }
  const paths = text
    .split('\n')
    .filter(Boolean)
    .map((url) => url.replace(/^.*\/(src|node_modules)\//, '$1/'));
  return [...new Set(paths)];
}

/** "312 modules: 180 of fieldbridge, 95 in 21 packages (winston 40, …), 37 built in" */
export function describeModules(modules: readonly string[]): string {
  const own = modules.filter((path) => path.startsWith('src/')).length;
  const builtIn = modules.filter((path) => path.startsWith('node:')).length;
  const packages = new Map<string, number>();
  for (const path of modules) {
    const match = /^node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(path);
    if (match?.[1] !== undefined) packages.set(match[1], (packages.get(match[1]) ?? 0) + 1);
  }
  const inPackages = [...packages.values()].reduce((sum, count) => sum + count, 0);
  const top = [...packages]
    .sort((a, b) => b[1] - a[1])
    .slice(0, 8)
    .map(([name, count]) => `${name} ${count}`)
    .join(', ');
  return (
    `${modules.length} modules: ${own} of fieldbridge, ${inPackages} in ${packages.size} packages ` +
    `(${top}), ${builtIn} built in`
  );
}
