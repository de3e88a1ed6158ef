// Every way a configuration can be wrong ends up as a list of problems, so the user fixes a file in one
// pass instead of re-running the gateway once per mistake.

export interface ConfigProblem {
  /** Where the problem is: `devices[1].reconnect.max_ms`, `(root)`, `<file>` or `<file>:<line>:<col>`. */
  path: string;
  message: string;
}

export class ConfigError extends Error {
  readonly problems: ConfigProblem[];

  constructor(problems: ConfigProblem[]) {
    const count = problems.length === 1 ? '1 problem' : `${problems.length} problems`;
    super(`invalid configuration (${count}):\n${formatProblems(problems)}`);
    this.name = 'ConfigError';
    this.problems = problems;
  }
}

/** One `path: message` line per problem. */
export function formatProblems(problems: readonly ConfigProblem[]): string {
  return problems.map((problem) => `${problem.path}: ${problem.message}`).join('\n');
}

export type PathSegment = PropertyKey;

// Keys that read unambiguously after a dot; anything else (bus ids like `mbus:/dev/ttyUSB0`, log
// namespaces like `device.heat1`) is quoted in brackets so the path can still be split back apart.
const PLAIN_KEY = /^[A-Za-z_][A-Za-z0-9_-]*$/;

/** `['devices', 1, 'reconnect', 'max_ms']` → `devices[1].reconnect.max_ms`; the empty path is `(root)`. */
export function formatPath(path: readonly PathSegment[]): string {
  let formatted = '';
  for (const segment of path) {
    if (typeof segment === 'number') formatted += `[${segment}]`;
    else if (typeof segment === 'string' && PLAIN_KEY.test(segment)) {
      formatted += formatted === '' ? segment : `.${segment}`;
    } else formatted += `[${JSON.stringify(String(segment))}]`;
  }
  return formatted === '' ? '(root)' : formatted;
}

/** True when `path` is `ancestor` itself or lies inside it (both formatted with {@link formatPath}). */
export function isWithinPath(path: string, ancestor: string): boolean {
  return path === ancestor || path.startsWith(`${ancestor}.`) || path.startsWith(`${ancestor}[`);
}
