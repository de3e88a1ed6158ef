// Turns zod issues into problems with messages written for someone editing a YAML file: "expected a
// whole number, got 1.5" rather than zod's generic wording, and "did you mean" hints for unknown keys.

import { z } from 'zod';
import { type ConfigProblem, formatPath, isWithinPath } from './errors.js';
import { closestMatch, listAlternatives } from './suggest.js';

const EXPECTED_NAMES: Record<string, string> = {
  object: 'a mapping',
  record: 'a mapping',
  array: 'a list',
  tuple: 'a list',
  int: 'a whole number',
  number: 'a number',
  string: 'a string',
  boolean: 'true or false',
};

/** How a YAML value reads in a message; secrets are described by kind only, never by value. */
function describeValue(value: unknown, secret: boolean): string {
  if (value === null) return 'an empty value';
  if (Array.isArray(value)) return 'a list';
  switch (typeof value) {
    case 'object':
      return 'a mapping';
    case 'string':
      return secret ? 'a string' : `the string ${JSON.stringify(value)}`;
    case 'number':
    case 'boolean':
      return secret ? `a ${typeof value}` : String(value);
    default:
      return typeof value;
  }
}

function describeInvalidType(expected: string, input: unknown, secret: boolean): string {
  if (input === undefined) return 'is required';
  const message = `expected ${EXPECTED_NAMES[expected] ?? expected}, got ${describeValue(input, secret)}`;
  // YAML reads unquoted 1234 or yes/true as non-strings; quoting is the fix users need to know.
  const scalar = typeof input === 'number' || typeof input === 'boolean';
  return expected === 'string' && scalar ? `${message} (put it in quotes)` : message;
}

function describeBound(
  direction: 'min' | 'max',
  origin: string,
  bound: number | bigint,
  inclusive: boolean | undefined,
  input: unknown,
  secret: boolean,
): string {
  if (origin === 'string') {
    if (direction === 'min' && bound === 1) return 'must not be empty';
    return `must be at ${direction === 'min' ? 'least' : 'most'} ${bound} characters`;
  }
  if (origin === 'array') return `must have at ${direction === 'min' ? 'least' : 'most'} ${bound} entries`;
  const operator = direction === 'min' ? (inclusive ? '>=' : '>') : inclusive ? '<=' : '<';
  const got = secret || typeof input !== 'number' ? '' : ` (got ${input})`;
  return `must be ${operator} ${bound}${got}`;
}

function describeInvalidValue(values: readonly unknown[], input: unknown, secret: boolean): string {
  const choices = values.map(String);
  const prefix = choices.length > 2 ? 'must be one of ' : 'must be ';
  if (secret) return prefix + listAlternatives(choices);
  const suggestion = typeof input === 'string' ? closestMatch(input, choices) : undefined;
  const hint = suggestion === undefined ? '' : `, did you mean "${suggestion}"?`;
  return `${prefix}${listAlternatives(choices)} (got ${describeValue(input, secret)}${hint})`;
}

/** Whether the value at a path is a secret, described by its kind only (the config's: isSecretPath). */
export type SecretPaths = (path: readonly PropertyKey[]) => boolean;

function describeIssue(issue: z.core.$ZodRawIssue, isSecretPath: SecretPaths): string | undefined {
  const secret = isSecretPath(issue.path ?? []);
  switch (issue.code) {
    case 'invalid_type':
      return describeInvalidType(issue.expected, issue.input, secret);
    case 'too_small':
      return describeBound('min', issue.origin, issue.minimum, issue.inclusive, issue.input, secret);
    case 'too_big':
      return describeBound('max', issue.origin, issue.maximum, issue.inclusive, issue.input, secret);
    case 'not_multiple_of':
      // multipleOf(1) is how whole numbers are checked (see fields.ts)
      return issue.divisor === 1
        ? describeInvalidType('int', issue.input, secret)
        : `must be a multiple of ${issue.divisor}`;
    case 'invalid_value':
      return describeInvalidValue(issue.values, issue.input, secret);
    case 'unrecognized_keys':
      return 'unknown key';
    default:
      return undefined;
  }
}

function unknownKeyMessage(key: string, knownKeys: readonly string[]): string {
  const suggestion = closestMatch(key, knownKeys);
  if (suggestion !== undefined) return `unknown key (did you mean "${suggestion}"?)`;
  return knownKeys.length === 0 ? 'unknown key' : `unknown key (expected one of: ${knownKeys.join(', ')})`;
}

/**
 * One translator per parse. zod's final issues no longer say which object rejected a key, so the keys
 * that object does know are captured while messages are built and used for the "did you mean" hints.
 */
export function createIssueTranslator(isSecretPath: SecretPaths = () => false) {
  const knownKeysByPath = new Map<string, string[]>();

  const errorMap: z.core.$ZodErrorMap = (issue) => {
    if (issue.code === 'unrecognized_keys' && issue.inst instanceof z.ZodObject) {
      knownKeysByPath.set(formatPath(issue.path ?? []), Object.keys(issue.inst.shape));
    }
    return describeIssue(issue, isSecretPath);
  };

  /** `skipWithin`: paths already reported otherwise; issues at or below them are dropped. */
  function toProblems(
    issues: readonly z.core.$ZodIssue[],
    skipWithin: readonly string[] = [],
  ): ConfigProblem[] {
    // For 0.5 where a whole number >= 1 is expected, "expected a whole number" is the one worth saying.
    const notWholeNumbers = new Set(
      issues.filter((issue) => issue.code === 'not_multiple_of').map((issue) => formatPath(issue.path)),
    );
    return issues.flatMap((issue): ConfigProblem[] => {
      const path = formatPath(issue.path);
      if (skipWithin.some((skipped) => isWithinPath(path, skipped))) return [];
      if ((issue.code === 'too_small' || issue.code === 'too_big') && notWholeNumbers.has(path)) return [];
      if (issue.code !== 'unrecognized_keys') return [{ path, message: issue.message }];
      const knownKeys = knownKeysByPath.get(path) ?? [];
      return issue.keys.map((key) => ({
        path: formatPath([...issue.path, key]),
        message: unknownKeyMessage(key, knownKeys),
      }));
    });
  }

  return { errorMap, toProblems };
}
