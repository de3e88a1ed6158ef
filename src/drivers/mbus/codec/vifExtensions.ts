import { hexByte } from './errors.js';
import {
  DURATION_NN,
  DURATION_PP,
  family,
  label,
  meaning,
  reserved,
  SECONDS,
  unitPrefix,
  type ValueMeaning,
} from './vifMeaning.js';

// The two VIF extension tables: after VIF FD the main one (EN 13757-3 table 14: currency, enhanced
// identification, durations, volts, amperes …), after VIF FB the alternate one (table 12: MWh, GJ,
// American units, °F …). Raw unit strings and normalisation follow libmbus; where libmbus leaves a code
// "Reserved" that later editions of the standard define (FD 71 reception level, FB 1A/1B relative
// humidity) we decode it as the standard and pyMeterBus do, and where libmbus's normalisation table has
// a slip (FB 08/09 unit, FB 30/31 unit, FB 79 scale) we use the standard's value.

function mainTable(): ValueMeaning[] {
  const table: ValueMeaning[] = [];
  family(table, 0x00, 4, (n) =>
    meaning(
      `Credit of ${unitPrefix(n - 3)} of the nominal local legal currency units`,
      'Currency units',
      'Credit',
      n - 3,
    ),
  );
  family(table, 0x04, 4, (n) =>
    meaning(
      `Debit of ${unitPrefix(n - 3)} of the nominal local legal currency units`,
      'Currency units',
      'Debit',
      n - 3,
    ),
  );
  table[0x08] = label('Access Number (transmission count)');
  table[0x09] = label('Medium (as in fixed header)', 'Medium');
  table[0x0a] = label('Manufacturer (as in fixed header)', 'Manufacturer');
  const names: [number, string][] = [
    [0x0b, 'Parameter set identification'],
    [0x0c, 'Model / Version'],
    [0x0d, 'Hardware version'],
    [0x0e, 'Firmware version'],
    [0x0f, 'Software version'],
    [0x10, 'Customer location'],
    [0x11, 'Customer'],
    [0x12, 'Access Code User'],
    [0x13, 'Access Code Operator'],
    [0x14, 'Access Code System Operator'],
    [0x15, 'Access Code Developer'],
    [0x16, 'Password'],
    [0x17, 'Error flags'],
    [0x18, 'Error mask'],
    [0x1e, 'Retry'],
    [0x20, 'First storage # for cyclic storage'],
    [0x21, 'Last storage # for cyclic storage'],
    [0x22, 'Size of storage block'],
    [0x60, 'Reset counter'],
    [0x61, 'Cumulation counter'],
    [0x62, 'Control signal'],
    [0x63, 'Day of week'],
    [0x64, 'Week number'],
    [0x65, 'Time point of day change'],
    [0x66, 'State of parameter activation'],
    [0x67, 'Special supplier information'],
    [0x70, 'Date and time of battery change'],
  ];
  for (const [code, name] of names) table[code] = label(name);
  for (const code of [0x19, 0x1f, 0x23, 0x2a, 0x2b, 0x3b, 0x3c, 0x3d, 0x3e, 0x3f])
    table[code] = reserved('Reserved');
  table[0x1a] = label('Digital output (binary)', 'Digital Output');
  table[0x1b] = label('Digital input (binary)', 'Digital Input');
  table[0x1c] = meaning('Baudrate', 'Baud', 'Baudrate');
  table[0x1d] = meaning('response delay time', 'Bittimes', 'Response delay time');
  family(table, 0x24, 4, (nn) =>
    duration(`Storage interval ${DURATION_NN[nn]?.plural}`, 'Storage interval', nn),
  );
  table[0x28] = meaning('Storage interval month(s)', 's', 'Storage interval', 0, SECONDS.month);
  table[0x29] = meaning('Storage interval year(s)', 's', 'Storage interval', 0, SECONDS.year);
  family(table, 0x2c, 4, (nn) =>
    duration(`Duration since last readout ${DURATION_NN[nn]?.plural}`, 'Duration since last readout', nn),
  );
  // libmbus normalises this one as "Reserved"; it is a date (or date and time), like a time point.
  table[0x30] = meaning('Start (date/time) of tariff', '-', 'Start (date/time) of tariff');
  family(table, 0x31, 3, (n) =>
    duration(`Duration of tariff ${DURATION_NN[n + 1]?.plural}`, 'Duration of tariff', n + 1),
  );
  family(table, 0x34, 4, (nn) =>
    duration(`Period of tariff ${DURATION_NN[nn]?.plural}`, 'Period of tariff', nn),
  );
  table[0x38] = meaning('Period of tariff months(s)', 's', 'Period of tariff', 0, SECONDS.month);
  table[0x39] = meaning('Period of tariff year(s)', 's', 'Period of tariff', 0, SECONDS.year);
  table[0x3a] = label('dimensionless / no VIF', 'Dimensionless');
  family(table, 0x40, 16, (n) => meaning(`${unitPrefix(n - 9)} V`, 'V', 'Voltage', n - 9));
  family(table, 0x50, 16, (n) => meaning(`${unitPrefix(n - 12)} A`, 'A', 'Current', n - 12));
  family(table, 0x68, 4, (pp) =>
    longDuration(
      `Duration since last cumulation ${DURATION_PP[pp]?.plural}`,
      'Duration since last cumulation',
      pp,
    ),
  );
  family(table, 0x6c, 4, (pp) =>
    longDuration(`Operating time battery ${DURATION_PP[pp]?.plural}`, 'Operating time battery', pp),
  );
  family(table, 0x71, 15, () => reserved('Reserved VIF extension'));
  // Reception level of a radio device (EN 13757-3:2013), in steps of 2 dBm from −130 dBm (pyMeterBus).
  table[0x71] = { ...meaning('Reception level (dBm)', 'dBm', 'Reception level', 0, 2), offset: -130 };
  return table;
}

function duration(rawUnit: string, quantity: string, nn: number): ValueMeaning {
  return meaning(rawUnit, 's', quantity, 0, DURATION_NN[nn]?.seconds ?? 1);
}

function longDuration(rawUnit: string, quantity: string, pp: number): ValueMeaning {
  return meaning(rawUnit, 's', quantity, 0, DURATION_PP[pp]?.seconds ?? 1);
}

function alternateTable(): ValueMeaning[] {
  const table: ValueMeaning[] = [];
  const tenth = (n: number) => (n === 0 ? '0.1 ' : '');
  family(table, 0x00, 2, (n) => meaning(`Energy (${tenth(n)}MWh)`, 'Wh', 'Energy', n + 5));
  family(table, 0x08, 2, (n) => meaning(`Energy (${tenth(n)}GJ)`, 'J', 'Energy', n + 8));
  family(table, 0x10, 2, (n) => meaning(`Volume (${unitPrefix(n + 2)}m3)`, 'm^3', 'Volume', n + 2));
  family(table, 0x18, 2, (n) => meaning(`Mass (${unitPrefix(n + 2)}t)`, 'kg', 'Mass', n + 5));
  // Relative humidity 10^(n−1) % (EN 13757-3:2013); libmbus still calls these reserved.
  family(table, 0x1a, 2, (n) =>
    meaning(`Relative humidity (${unitPrefix(n - 1)}%)`, '%', 'Relative humidity', n - 1),
  );
  table[0x21] = meaning('Volume (0.1 feet^3)', 'feet^3', 'Volume', -1);
  family(table, 0x22, 2, (n) =>
    meaning(`Volume (${tenth(n)}american gallon)`, 'American gallon', 'Volume', n - 1),
  );
  table[0x24] = meaning('Volume flow (0.001 american gallon/min)', 'American gallon/min', 'Volume flow', -3);
  table[0x25] = meaning('Volume flow (american gallon/min)', 'American gallon/min', 'Volume flow');
  table[0x26] = meaning('Volume flow (american gallon/h)', 'American gallon/h', 'Volume flow');
  family(table, 0x28, 2, (n) => meaning(`Power (${tenth(n)}MW)`, 'W', 'Power', n + 5));
  family(table, 0x30, 2, (n) => meaning(`Power (${tenth(n)}GJ/h)`, 'J/h', 'Power', n + 8));
  const fahrenheit: [number, string, string][] = [
    [0x58, 'Flow Temperature', 'Flow temperature'],
    [0x5c, 'Return Temperature', 'Return temperature'],
    [0x60, 'Temperature Difference', 'Temperature difference'],
    [0x64, 'External Temperature', 'External temperature'],
    [0x70, 'Cold / Warm Temperature Limit', 'Cold / Warm Temperature Limit'],
  ];
  for (const [base, name, quantity] of fahrenheit) {
    family(table, base, 4, (n) => meaning(`${name} (${unitPrefix(n - 3)} degree F)`, '°F', quantity, n - 3));
  }
  family(table, 0x74, 4, (n) =>
    meaning(
      `Cold / Warm Temperature Limit (${unitPrefix(n - 3)} degree C)`,
      '°C',
      'Cold / Warm Temperature Limit',
      n - 3,
    ),
  );
  family(table, 0x78, 8, (n) =>
    meaning(`cumul. count max power (${unitPrefix(n - 3)} W)`, 'W', 'Cumul count max power', n - 3),
  );
  return table;
}

const MAIN = mainTable();
const ALTERNATE = alternateTable();

/** After VIF FD: the code in the first VIFE (its extension bit ignored). */
export function mainExtension(vife: number): ValueMeaning {
  const code = vife & 0x7f;
  return MAIN[code] ?? reserved(`Unrecognized VIF 0xFD extension: 0x${hexByte(code).toLowerCase()}`);
}

/** After VIF FB. libmbus names the reserved codes with the whole VIFE byte. */
export function alternateExtension(vife: number): ValueMeaning {
  return ALTERNATE[vife & 0x7f] ?? reserved(`Reserved (0x${hexByte(vife).toLowerCase()})`);
}
