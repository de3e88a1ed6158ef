// `${NAME}` references in string values let deployments keep credentials and host names out of the
// file. The environment is passed in explicitly so parsing stays a pure function of its inputs.

import { type ConfigProblem, formatPath, type PathSegment } from './fields/errors.js';

export type Environment = Readonly<Record<string, string | undefined>>;

export interface SubstitutionResult {
  /** The tree with every reference replaced (by '' where that was impossible). */
  value: unknown;
  problems: ConfigProblem[];
  /** Where a string value had a reference in it: only these may become numbers (parseWithTypedReferences). */
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

/** A schema problem, as far as parseWithTypedReferences needs it (a zod issue). */
interface TypeIssue {
  code: string;
  path: PropertyKey[];
  expected?: string;
  values?: readonly unknown[];
}

/** A parse, as far as parseWithTypedReferences needs it (zod's safeParse result). */
interface ParseOutcome {
  success: boolean;
  error?: { issues: readonly TypeIssue[] } | undefined;
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

function valueAt(tree: unknown, path: readonly PropertyKey[]): unknown {
  return path.reduce<unknown>(
    (node, segment) => (typeof node === 'object' && node !== null ? Reflect.get(node, segment) : undefined),
    tree,
  );
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

interface Conversion {
  path: PropertyKey[];
  value: number | boolean;
  /** The schema said it wants a number (or true/false) there; otherwise the number is only a guess. */
  wanted: boolean;
}

/**
 * Parses `tree` (substituted) with `parse`. An environment variable is always text, so
 * `port: ${HTTP_PORT}` is the string "8080" after substitution: where the schema refuses such a
 * substituted string because it wants a number (or true/false) and the text reads as one, it is parsed
 * again with the value converted. A number the schema did not ask for by type (an M-Bus `address` is a
 * primary number or a secondary string) is kept only if the schema then accepts it. Written values are
 * left alone: a quoted "8080" in the file stays a string, and "abc" is never a number.
 */
export function parseWithTypedReferences<R extends ParseOutcome>(
  tree: unknown,
  substituted: readonly PathSegment[][],
  parse: (tree: unknown) => R,
): R {
  const first = parse(tree);
  const referenced = new Set(substituted.map((path) => formatPath(path)));
  const conversions = new Map<string, Conversion>();
  for (const issue of first.error?.issues ?? []) {
    const key = formatPath(issue.path);
    const text = valueAt(tree, issue.path);
    if (!referenced.has(key) || typeof text !== 'string' || conversions.get(key)?.wanted) continue;
    const scalar = scalarFor(issue, text);
    if (scalar !== undefined) conversions.set(key, { path: issue.path, value: scalar, wanted: true });
    else if (issue.code === 'custom' && NUMBER.test(text.trim())) {
      conversions.set(key, { path: issue.path, value: Number(text.trim()), wanted: false });
    }
  }
  if (conversions.size === 0) return first;
  const converted = (chosen: Conversion[]) =>
    chosen.reduce((node, { path, value }) => withValueAt(node, path, value), tree);
  const all = [...conversions.values()];
  const second = parse(converted(all));
  // A guess the schema refuses as a number too stays the text it was (with its first, clearer, problem).
  const refused = new Set((second.error?.issues ?? []).map((issue) => formatPath(issue.path)));
  const kept = all.filter((conversion) => conversion.wanted || !refused.has(formatPath(conversion.path)));
  return kept.length === all.length ? second : parse(converted(kept));
}
