import { ConfigError, formatProblems, parseConfig } from '../../src/config/index.js';

/** The problems of an invalid config, as the `path: message` lines the CLI prints. */
export function problemsOf(yaml: string, env: Record<string, string | undefined> = {}): string[] {
  try {
    parseConfig(yaml, env);
  } catch (error) {
    if (error instanceof ConfigError) return formatProblems(error.problems).split('\n');
    throw error;
  }
  throw new Error('expected the config to be rejected');
}
