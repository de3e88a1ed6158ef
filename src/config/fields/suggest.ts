// "Did you mean" hints for misspelt keys and values: a typo in a YAML key would otherwise be reported as
// an unknown key with no pointer to the intended one.

const MAX_SUGGESTION_DISTANCE = 2;

/**
 * The candidate closest to `word` within edit distance 2, else one that is `word` plus a unit suffix
 * (`min` → `min_ms`), else undefined.
 */
export function closestMatch(word: string, candidates: readonly string[]): string | undefined {
  return (
    closestByEditDistance(word, candidates) ??
    candidates.find((candidate) => candidate.startsWith(`${word}_`))
  );
}

function closestByEditDistance(word: string, candidates: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestDistance = MAX_SUGGESTION_DISTANCE + 1;
  for (const candidate of candidates) {
    const distance = editDistance(word.toLowerCase(), candidate.toLowerCase());
    if (distance < bestDistance) {
      best = candidate;
      bestDistance = distance;
    }
  }
  return best;
}

/** Levenshtein distance (insertions, deletions and substitutions each cost 1). */
export function editDistance(a: string, b: string): number {
  let previousRow = Array.from({ length: b.length + 1 }, (_, index) => index);
  for (let i = 1; i <= a.length; i++) {
    const row = [i];
    for (let j = 1; j <= b.length; j++) {
      const substitution = (previousRow[j - 1] ?? 0) + (a[i - 1] === b[j - 1] ? 0 : 1);
      row.push(Math.min((previousRow[j] ?? 0) + 1, (row[j - 1] ?? 0) + 1, substitution));
    }
    previousRow = row;
  }
  return previousRow[b.length] ?? 0;
}

/** `a`, `a or b`, `a, b or c`. */
export function listAlternatives(values: readonly string[]): string {
  if (values.length <= 1) return values.join('');
  return `${values.slice(0, -1).join(', ')} or ${values[values.length - 1]}`;
}
