// `${NAME}` references in string values let deployments keep credentials and host names out of the
// file. The environment is passed in explicitly so parsing stays a pure function of its inputs.

import { type ConfigProblem, formatPath, type PathSegment } from './errors.js';

export type Environment = Readonly<Record<string, string | undefined>>;

export interface SubstitutionResult {
  /** The tree with every reference replaced (by '' where that was impossible). */
  value: unknown;
  problems: ConfigProblem[];
  /** Where a string value had a reference in it: only these may become numbers (see typedReferences). */
  substituted: PathSegment[][];
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
  const substituted: PathSegment[][] = [];

  const visit = (node: unknown, path: PathSegment[]): unknown => {
    if (typeof node === 'string') {
      const value = substituteString(node, env, (message) =>
        problems.push({ path: formatPath(path), message }),
      );
      if (value !== node) substituted.push(path);
      return value;
    }
    if (Array.isArray(node)) return node.map((item, index) => visit(item, [...path, index]));
    if (typeof node === 'object' && node !== null) {
      return Object.fromEntries(
        Object.entries(node).map(([key, value]) => [key, visit(value, [...path, key])]),
      );
    }
    return node;
  };

  return { value: visit(tree, []), problems, substituted };
}

/** A schema problem, as far as typedReferences needs it (a zod issue). */
interface TypeIssue {
  code: string;
  path: PropertyKey[];
  expected?: string;
  values?: readonly unknown[];
}

const NUMBER = /^-?\d+(\.\d+)?$/;
const BOOLEAN: Record<string, boolean> = { true: true, false: false };

/** What `text` is as the scalar the schema wanted at `issue`'s path, if it reads as one. */
function scalarFor(issue: TypeIssue, text: string): number | boolean | undefined {
  const trimmed = text.trim();
  const wantsNumber =
    (issue.code === 'invalid_type' && issue.expected === 'number') ||
    (issue.code === 'invalid_value' && (issue.values ?? []).some((value) => typeof value === 'number'));
  if (wantsNumber && NUMBER.test(trimmed)) return Number(trimmed);
  if (issue.code === 'invalid_type' && issue.expected === 'boolean') return BOOLEAN[trimmed];
  return undefined;
}

function withValueAt(tree: unknown, path: readonly PropertyKey[], value: unknown): unknown {
  const [head, ...rest] = path;
  if (head === undefined) return value;
  if (Array.isArray(tree)) {
    return tree.map((item: unknown, index) => (index === head ? withValueAt(item, rest, value) : item));
  }
  if (typeof tree !== 'object' || tree === null) return tree;
  return { ...tree, [head]: withValueAt(Reflect.get(tree, head), rest, value) };
}

/**
 * An environment variable is always text, so `port: ${HTTP_PORT}` is the string "8080" after
 * substitution. Where the schema refused such a substituted string because it wants a number (or
 * true/false) and the text reads as one, the tree with that value converted; undefined when there is
 * none. Written values are left alone: a quoted "8080" in the file stays a string, and "abc" is never
 * a number.
 */
export function typedReferences(
  tree: unknown,
  substituted: readonly PathSegment[][],
  issues: readonly TypeIssue[],
): unknown {
  const referenced = new Set(substituted.map((path) => formatPath(path)));
  let typed: unknown;
  for (const issue of issues) {
    if (!referenced.has(formatPath(issue.path))) continue;
    const current: unknown = issue.path.reduce<unknown>(
      (node, segment) => (typeof node === 'object' && node !== null ? Reflect.get(node, segment) : undefined),
      typed ?? tree,
    );
    if (typeof current !== 'string') continue;
    const scalar = scalarFor(issue, current);
    if (scalar !== undefined) typed = withValueAt(typed ?? tree, issue.path, scalar);
  }
  return typed;
}
