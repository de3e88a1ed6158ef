import type { z } from 'zod';

// A leaf: bridge requests (src/bridge/requests.ts) and the drivers' command checks (src/drivers/registry.ts)
// both answer with the problems zod found, in the same words.

/** The problems zod found, as one line: `path: message; …` (`noun` names what an unknown key is). */
export function describeIssues(error: z.ZodError, noun = 'key'): string {
  return error.issues
    .map((issue) => {
      const path = issue.path.join('.');
      const message =
        issue.code === 'unrecognized_keys'
          ? `unknown ${noun} ${issue.keys.map((k) => `"${k}"`).join(', ')}`
          : issue.message;
      return path ? `${path}: ${message}` : message;
    })
    .join('; ');
}
