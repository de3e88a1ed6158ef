// What a value information block means: libmbus's unit string for the raw value, and the normalised
// unit, quantity and scaling of `mbus_parse_hex -n`. Shared by the primary table and the two extension
// tables so they are written the same way.

export interface ValueMeaning {
  /** libmbus's non-normalised unit string, e.g. "Energy (10 Wh)". */
  rawUnit: string;
  unit: string;
  quantity: string;
  /** The power of ten: normalised = raw × 10^exponent × multiplier + offset. */
  exponent: number;
  /** A conversion that is not a power of ten (hours to seconds); 1 otherwise. */
  multiplier: number;
  offset: number;
}

export function meaning(
  rawUnit: string,
  unit: string,
  quantity: string,
  exponent = 0,
  multiplier = 1,
): ValueMeaning {
  return { rawUnit, unit, quantity, exponent, multiplier, offset: 0 };
}

/** A code that only names what it is: no unit, no scaling ("Fabrication number"). */
export function label(rawUnit: string, quantity = rawUnit): ValueMeaning {
  return meaning(rawUnit, '', quantity);
}

export function reserved(rawUnit: string): ValueMeaning {
  return meaning(rawUnit, 'Reserved', 'Reserved');
}

/** libmbus's way of writing a power of ten in front of a unit ("1e-2 ", "m", "10 k"). */
export function unitPrefix(exponent: number): string {
  switch (exponent) {
    case 0:
      return '';
    case -3:
      return 'm';
    case -6:
      return 'my';
    case 1:
      return '10 ';
    case 2:
      return '100 ';
    case 3:
      return 'k';
    case 4:
      return '10 k';
    case 5:
      return '100 k';
    case 6:
      return 'M';
    case 9:
      return 'G';
    default:
      return `1e${exponent} `;
  }
}

// Seconds per unit of the duration codes. A month and a year are libmbus's averages (30.44 and 365.24
// days), so converted durations agree with it.
export const SECONDS = { second: 1, minute: 60, hour: 3600, day: 86400, month: 2629743.83, year: 31556926 };

/** The nn of the duration codes: seconds, minutes, hours, days. */
export const DURATION_NN = [
  { word: 'seconds', plural: 'second(s)', seconds: SECONDS.second },
  { word: 'minutes', plural: 'minute(s)', seconds: SECONDS.minute },
  { word: 'hours', plural: 'hour(s)', seconds: SECONDS.hour },
  { word: 'days', plural: 'day(s)', seconds: SECONDS.day },
] as const;

/** The pp of the long duration codes: hours, days, months, years. */
export const DURATION_PP = [
  { plural: 'hour(s)', seconds: SECONDS.hour },
  { plural: 'day(s)', seconds: SECONDS.day },
  { plural: 'month(s)', seconds: SECONDS.month },
  { plural: 'year(s)', seconds: SECONDS.year },
] as const;

/** Fills `table[base … base + count - 1]` from a function of n = 0 … count - 1. */
export function family(
  table: ValueMeaning[],
  base: number,
  count: number,
  describe: (n: number) => ValueMeaning,
): void {
  for (let n = 0; n < count; n++) table[base + n] = describe(n);
}
