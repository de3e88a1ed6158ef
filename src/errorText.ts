/**
 * The one way fieldbridge turns a caught value into text for a log line, a status or a reply. A leaf
 * module (it imports nothing from the project) so every folder can use it without an import cycle.
 *
 * An Error gives its message and a string itself. Anything else is what some code threw or rejected
 * with: JSON shows its content (`{"code":5}`, where String() would say `[object Object]`); what JSON
 * cannot show (undefined, a symbol, a bigint, a cycle) falls back to String().
 */
export function errorText(error: unknown): string {
  if (error instanceof Error) return error.message;
  if (typeof error === 'string') return error;
  try {
    const json = JSON.stringify(error) as string | undefined;
    if (json !== undefined) return json;
  } catch {
    // a cycle or a bigint: String() below still names it
  }
  return String(error);
}
