// Text → validated config: YAML syntax, then environment substitution, then the schema. Problems from
// every stage are collected so one run reports everything that is wrong with a file.

import { readFile } from 'node:fs/promises';
import { LineCounter, parseDocument } from 'yaml';
import { type Environment, parseWithTypedReferences, substituteEnv } from './env.js';
import { ConfigError, type ConfigProblem } from './fields/errors.js';
import { createIssueTranslator } from './fields/issues.js';
import { isSecretPath } from './mask.js';
import { configSchema, type FieldbridgeConfig } from './schema.js';
import { errorText } from '../errorText.js';

function isMapping(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function describeTopLevel(value: unknown): string {
  if (Array.isArray(value)) return 'a list';
  return typeof value === 'string' ? 'a plain string' : `${typeof value} ${JSON.stringify(value)}`;
}

/**
 * `key:` with nothing after it (or `~`) counts as leaving the key out, so a section whose every line is
 * commented out, as in the example file, means "all defaults" rather than "invalid".
 */
function dropEmptyValues(node: unknown): unknown {
  if (Array.isArray(node)) return node.map(dropEmptyValues);
  if (!isMapping(node)) return node;
  const entries = Object.entries(node).filter(([, value]) => value !== null && value !== undefined);
  return Object.fromEntries(entries.map(([key, value]) => [key, dropEmptyValues(value)]));
}

const MAX_SYNTAX_ERRORS_SHOWN = 5;

/**
 * Some yaml messages end by quoting the offending token (`...in YAML stream: "hunter2"`). The line and
 * column already locate it, and the token may be a password, so the quote is dropped.
 */
function withoutSourceEcho(message: string): string {
  return message.replace(/: "(?:[^"\\]|\\.)*"$/, '');
}

function parseYaml(text: string, sourceName: string): unknown {
  const lineCounter = new LineCounter();
  // `merge` allows `<<: *anchor`, handy for devices that share most of their settings.
  const document = parseDocument(text, { lineCounter, merge: true, prettyErrors: false });
  if (document.errors.length > 0) {
    const problems = document.errors.map((error) => {
      const { line, col } = lineCounter.linePos(error.pos[0]);
      return { path: `${sourceName}:${line}:${col}`, message: withoutSourceEcho(error.message) };
    });
    // One syntax error usually derails the parser for the rest of the file; beyond the first few,
    // the errors are echoes of the first, not separate mistakes.
    const shown = problems.slice(0, MAX_SYNTAX_ERRORS_SHOWN);
    const hidden = problems.length - shown.length;
    if (hidden > 0) {
      shown.push({
        path: sourceName,
        message: `${hidden} more syntax errors, probably caused by the ones above`,
      });
    }
    throw new ConfigError(shown);
  }
  try {
    return document.toJS();
  } catch (error) {
    // e.g. an alias bomb exceeding the alias limit
    throw new ConfigError([{ path: sourceName, message: errorText(error) }]);
  }
}

/** Validates an already parsed YAML tree. */
function validateTree(tree: unknown, env: Environment): FieldbridgeConfig {
  const root = tree ?? {};
  if (!isMapping(root)) {
    const message = `the file must be a mapping of sections (mqtt:, devices:, ...), got ${describeTopLevel(root)}`;
    throw new ConfigError([{ path: '(root)', message }]);
  }
  const substituted = substituteEnv(dropEmptyValues(root), env);
  const translator = createIssueTranslator(isSecretPath);
  const result = parseWithTypedReferences(substituted.value, substituted.substituted, (tree) =>
    configSchema.safeParse(tree, { error: translator.errorMap }),
  );
  // A value whose variable is missing was replaced by '' and may fail validation too; say it only once.
  const envPaths = substituted.problems.map((problem) => problem.path);
  const schemaProblems = result.success ? [] : translator.toProblems(result.error.issues, envPaths);
  const problems: ConfigProblem[] = [...substituted.problems, ...schemaProblems];
  if (problems.length > 0 || !result.success) throw new ConfigError(problems);
  return result.data;
}

/** Parses and validates a config file's text. `sourceName` prefixes YAML syntax error locations. */
export function parseConfig(text: string, env: Environment, sourceName = 'config'): FieldbridgeConfig {
  return validateTree(parseYaml(text, sourceName), env);
}

/** The configuration used when there is no config file: every default. */
export function defaultConfig(): FieldbridgeConfig {
  return parseConfig('', {});
}

const READ_FAILURES: Record<string, string> = {
  ENOENT: 'file not found',
  EACCES: 'permission denied',
  EISDIR: 'is a directory, not a file',
};

export async function loadConfigFile(path: string, env: Environment): Promise<FieldbridgeConfig> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    const { code, message } = error as NodeJS.ErrnoException;
    throw new ConfigError([
      { path, message: `cannot read config file: ${READ_FAILURES[code ?? ''] ?? message}` },
    ]);
  }
  return parseConfig(text, env, path);
}
