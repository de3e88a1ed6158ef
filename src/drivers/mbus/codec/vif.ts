import { hexByte } from './errors.js';
import { PLAIN_TEXT_VIF, VIF_EXTENSION } from './records.js';
import { alternateExtension, mainExtension } from './vifExtensions.js';
import { DURATION_NN, family, label, meaning, unitPrefix, type ValueMeaning } from './vifMeaning.js';

// The primary VIF table (EN 13757-3 table 10), the plain-text VIF, the two extension tables (VIF FD and
// FB, in vifExtensions.ts) and the combinable VIFEs that libmbus applies when it normalises. Each entry
// carries libmbus's unit string for the raw value and its normalised unit, quantity and scaling.

export const VIF_MAIN_EXTENSION = 0xfd;
export const VIF_ALTERNATE_EXTENSION = 0xfb;

/** Codes libmbus -n normalises but has no raw unit string for: the raw unit names the VIF instead. */
const UNNAMED = '';

function unknownRawUnit(vif: number): string {
  return `Unknown (VIF=0x${hexByte(vif)})`;
}

function primaryTable(): ValueMeaning[] {
  const table: ValueMeaning[] = [];
  family(table, 0x00, 8, (n) => meaning(`Energy (${unitPrefix(n - 3)}Wh)`, 'Wh', 'Energy', n - 3));
  family(table, 0x08, 8, (n) => meaning(`Energy (${unitPrefix(n)}J)`, 'J', 'Energy', n));
  family(table, 0x10, 8, (n) => meaning(`Volume (${unitPrefix(n - 6)} m^3)`, 'm^3', 'Volume', n - 6));
  family(table, 0x18, 8, (n) => meaning(`Mass (${unitPrefix(n - 3)}kg)`, 'kg', 'Mass', n - 3));
  family(table, 0x28, 8, (n) => meaning(`Power (${unitPrefix(n - 3)}W)`, 'W', 'Power', n - 3));
  family(table, 0x30, 8, (n) => meaning(`Power (${unitPrefix(n)}J/h)`, 'J/h', 'Power', n));
  family(table, 0x38, 8, (n) =>
    meaning(`Volume flow (${unitPrefix(n - 6)} m^3/h)`, 'm^3/h', 'Volume flow', n - 6),
  );
  family(table, 0x40, 8, (n) =>
    meaning(`Volume flow (${unitPrefix(n - 7)} m^3/min)`, 'm^3/min', 'Volume flow', n - 7),
  );
  family(table, 0x48, 8, (n) =>
    meaning(`Volume flow (${unitPrefix(n - 9)} m^3/s)`, 'm^3/s', 'Volume flow', n - 9),
  );
  family(table, 0x50, 8, (n) => meaning(`Mass flow (${unitPrefix(n - 3)} kg/h)`, 'kg/h', 'Mass flow', n - 3));
  family(table, 0x58, 4, (n) =>
    meaning(`Flow temperature (${unitPrefix(n - 3)}deg C)`, '°C', 'Flow temperature', n - 3),
  );
  family(table, 0x5c, 4, (n) =>
    meaning(`Return temperature (${unitPrefix(n - 3)}deg C)`, '°C', 'Return temperature', n - 3),
  );
  family(table, 0x60, 4, (n) =>
    meaning(`Temperature Difference (${unitPrefix(n - 3)} deg C)`, 'K', 'Temperature difference', n - 3),
  );
  family(table, 0x64, 4, (n) =>
    meaning(`External temperature (${unitPrefix(n - 3)} deg C)`, '°C', 'External temperature', n - 3),
  );
  family(table, 0x68, 4, (n) => meaning(`Pressure (${unitPrefix(n - 3)} bar)`, 'bar', 'Pressure', n - 3));
  const durations: [number, string][] = [
    [0x20, 'On time'],
    [0x24, 'Operating time'],
    [0x70, 'Averaging Duration'],
    [0x74, 'Actuality Duration'],
  ];
  for (const [base, name] of durations) {
    family(table, base, 4, (nn) => {
      const unit = DURATION_NN[nn] ?? DURATION_NN[0];
      return meaning(`${name} (${unit.word})`, 's', name, 0, unit.seconds);
    });
  }
  table[0x6c] = meaning('Time Point (date)', '-', 'Time point (date)');
  table[0x6d] = meaning('Time Point (time & date)', '-', 'Time point (date & time)');
  table[0x6e] = meaning('Units for H.C.A.', 'Units for H.C.A.', 'H.C.A.');
  table[0x6f] = meaning('Reserved', 'Reserved', 'Reserved');
  table[0x78] = label('Fabrication number', 'Fabrication No');
  table[0x79] = label(UNNAMED, '(Enhanced) Identification');
  table[0x7a] = label('Bus Address');
  table[0x7e] = label(UNNAMED, 'Any VIF');
  table[0x7f] = label('Manufacturer specific');
  return table;
}

const PRIMARY = primaryTable();

/**
 * A code libmbus has no entry for (7B, 7D): its raw unit names the VIF. libmbus -n prints an empty record
 * for it; we keep the raw value and name the VIF as the quantity.
 */
function unknownVif(vif: number): ValueMeaning {
  return label(unknownRawUnit(vif));
}

/**
 * VIF 7C/FC: the unit is the text. libmbus -n reports unit "-" and the text as the quantity; FC with a
 * first VIFE 70–77 scales the value, and libmbus writes that power of ten in front of the text.
 */
function plainText(vif: number, vifes: readonly number[], text: string): ValueMeaning {
  const first = vifes[0] ?? 0;
  let rawUnit = text;
  if (vif & VIF_EXTENSION) {
    rawUnit = (first & 0x78) === 0x70 ? `${unitPrefix((first & 0x07) - 6)} ${text}` : 'Custom VIF';
  }
  return meaning(rawUnit, '-', text);
}

/**
 * Combinable VIFEs after a primary or plain-text VIF, as libmbus -n applies them (the first VIFE only):
 * a multiplicative correction 10^(nnn−6) or 10^3, or an additive correction 10^(nn−3).
 */
function withCorrection(base: ValueMeaning, vifes: readonly number[]): ValueMeaning {
  const first = vifes[0];
  if (first === undefined) return base;
  const code = first & 0x7f;
  if (code >= 0x70 && code <= 0x77) return { ...base, exponent: base.exponent + (code & 0x07) - 6 };
  if (code >= 0x78 && code <= 0x7b) return { ...base, offset: base.offset + 10 ** ((code & 0x03) - 3) };
  if (code === 0x7d) return { ...base, exponent: base.exponent + 3 };
  return base;
}

/** What the VIF, its VIFEs and (for 7C/FC) its text mean. */
export function describeValue(vif: number, vifes: readonly number[], plainTextUnit: string): ValueMeaning {
  if (vif === VIF_MAIN_EXTENSION) return mainExtension(vifes[0] ?? 0);
  if (vif === VIF_ALTERNATE_EXTENSION) return alternateExtension(vifes[0] ?? 0);
  const code = vif & 0x7f;
  if (code === PLAIN_TEXT_VIF) return withCorrection(plainText(vif, vifes, plainTextUnit), vifes);
  let base = PRIMARY[code] ?? unknownVif(vif);
  if (base.rawUnit === UNNAMED) base = { ...base, rawUnit: unknownRawUnit(vif) };
  return vif & VIF_EXTENSION ? withCorrection(base, vifes) : base;
}
