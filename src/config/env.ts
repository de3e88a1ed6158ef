// `${NAME}` references in string values let deployments keep credentials and host names out of the
// file. The environment is passed in explicitly so parsing stays a pure function of its inputs.

import { type ConfigProblem, formatPath, type PathSegment } from './errors.js';

export type Environment = Readonly<Record<string, string | undefined>>;

export interface SubstitutionResult {
  /** The tree with every reference replaced (by '' where that was impossible). */
  value: unknown;
  problems: ConfigProblem[];
}

// `$${` is an escaped literal `${`; `${...}` a reference; a `${` without `}` is malformed.
const TOKEN = /\$\$\{|\$\{([^}]*)\}|\$\{/g;
const REFERENCE = /^([A-Za-z_][A-Za-z0-9_]*)(?::-(.*))?$/s;
const USAGE = 'use ${NAME} or ${NAME:-fallback}, or $${ for a literal ${';

function substituteString(text: string, env: Environment, report: (message: string) => void): string {
  return text.replace(TOKEN, (token: string, body: string | undefined) => {
    if (token === '$${') return '${';
    if (body === undefined) {
      report(`unclosed "\${" (${USAGE})`);
      return '';
    }
    const reference = REFERENCE.exec(body);
    if (reference === null) {
      report(`invalid environment reference "${token}" (${USAGE})`);
      return '';
    }
    const [, name = '', fallback] = reference;
    const value = env[name];
    if (fallback !== undefined) return value === undefined || value === '' ? fallback : value;
    if (value === undefined) {
      report(`environment variable ${name} is not set`);
      return '';
    }
    return value;
  });
}

/** Replaces references in every string value (not in keys) of a parsed YAML tree. */
export function substituteEnv(tree: unknown, env: Environment): SubstitutionResult {
  const problems: ConfigProblem[] = [];

  const visit = (node: unknown, path: PathSegment[]): unknown => {
    if (typeof node === 'string') {
      return substituteString(node, env, (message) => problems.push({ path: formatPath(path), message }));
    }
    if (Array.isArray(node)) return node.map((item, index) => visit(item, [...path, index]));
    if (typeof node === 'object' && node !== null) {
      return Object.fromEntries(
        Object.entries(node).map(([key, value]) => [key, visit(value, [...path, key])]),
      );
    }
    return node;
  };

  return { value: visit(tree, []), problems };
}
