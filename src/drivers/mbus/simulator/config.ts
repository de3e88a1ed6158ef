import { readFile } from 'node:fs/promises';
import { LineCounter, parseDocument } from 'yaml';
import { z } from 'zod';
import { ConfigError, type ConfigProblem } from '../../../config/fields/errors.js';
import { fraction, wholeNumber } from '../../../config/fields/fields.js';
import { createIssueTranslator } from '../../../config/fields/issues.js';
import { formatSecondaryAddress } from '../codec/master.js';
import type { Faults } from './faults.js';
import { defaultMeters, MEDIUM_NAMES, type Medium, type MeterSpec, secondaryAddressOf } from './meters.js';

// meters.yaml: the bus the simulator plays. Validated with the gateway's own issue translator, so a bad
// file reads the same way as a bad fieldbridge.yaml: every problem at once, as `path: message`.
//
//   baud: 2400
//   seed: 7
//   faults: { no_answer: 0.1, corrupt: 0.05, slow_ms: 0 }
//   meters:
//     - { address: 1, id: "12345678", medium: heat, manufacturer: KAM, start: 1000, rate: 2.5 }

/** Per medium, what a meter is when the file leaves it out: the values of the default meters. */
const MEDIUM_DEFAULTS = new Map<Medium, MeterSpec>(defaultMeters(5).map((spec) => [spec.medium, spec]));

const meterId = z
  .union([z.string(), z.number()], { error: 'expected the meter id: up to 8 digits, e.g. "12345678"' })
  .transform(String)
  .pipe(z.string().regex(/^\d{1,8}$/, { error: 'must be up to 8 decimal digits, e.g. "12345678"' }));

const meterSchema = z.strictObject({
  address: wholeNumber(0, 250),
  id: meterId,
  medium: z.enum(MEDIUM_NAMES),
  manufacturer: z
    .string()
    .regex(/^[A-Za-z]{3}$/, { error: 'must be 3 letters (the FLAG id), e.g. "KAM"' })
    .optional(),
  version: wholeNumber(0, 255).optional(),
  start: z.number().min(0).optional(),
  rate: z.number().min(0).max(100_000).optional(),
  records_per_telegram: wholeNumber(0, 100).optional(),
  /** When this meter starts its answers (ms after the request); default turnaround or spread. */
  answer_delay_ms: z.number().min(0).max(10_000).optional(),
});

const faultsSchema = z.strictObject({
  no_answer: fraction().optional(),
  corrupt: fraction().optional(),
  slow_ms: wholeNumber(0, 60_000).optional(),
});

const fileSchema = z.strictObject({
  baud: wholeNumber(300, 38_400).optional(),
  seed: wholeNumber(0, 2 ** 32 - 1).optional(),
  fast: z.boolean().optional(),
  turnaround_ms: wholeNumber(0, 10_000).optional(),
  /** Meters answer at their own moments across the standard's window (E5s in sequence, overlaps). */
  spread_answers: z.boolean().optional(),
  faults: faultsSchema.optional(),
  meters: z.array(meterSchema).min(1).max(250).optional(),
});

/** What a file sets; anything left out is up to the command line or the defaults. */
export interface SimulatorFileConfig {
  baud?: number;
  seed?: number;
  fast?: boolean;
  turnaroundMs?: number;
  spreadAnswers?: boolean;
  faults: Partial<Faults>;
  meters?: MeterSpec[];
}

function toMeterSpec(entry: z.infer<typeof meterSchema>): MeterSpec {
  const defaults = MEDIUM_DEFAULTS.get(entry.medium) ?? defaultMeters(1)[0];
  return {
    address: entry.address,
    id: entry.id.padStart(8, '0'),
    medium: entry.medium,
    manufacturer: entry.manufacturer?.toUpperCase() ?? defaults?.manufacturer ?? 'FBS',
    version: entry.version ?? defaults?.version ?? 1,
    start: entry.start ?? defaults?.start ?? 0,
    rate: entry.rate ?? defaults?.rate ?? 0,
    recordsPerTelegram: entry.records_per_telegram ?? defaults?.recordsPerTelegram ?? 0,
    ...(entry.answer_delay_ms === undefined ? {} : { answerDelayMs: entry.answer_delay_ms }),
  };
}

/** Two meters at one primary address, or with one secondary address, would always collide. */
function duplicateProblems(meters: readonly MeterSpec[]): ConfigProblem[] {
  const problems: ConfigProblem[] = [];
  const addresses = new Map<number, number>();
  const secondaries = new Map<string, number>();
  meters.forEach((meter, index) => {
    const firstAddress = addresses.get(meter.address);
    if (firstAddress === undefined) addresses.set(meter.address, index);
    else {
      problems.push({
        path: `meters[${index}].address`,
        message: `duplicate primary address ${meter.address} (first used by meters[${firstAddress}])`,
      });
    }
    const secondary = formatSecondaryAddress(secondaryAddressOf(meter));
    const firstSecondary = secondaries.get(secondary);
    if (firstSecondary === undefined) secondaries.set(secondary, index);
    else {
      problems.push({
        path: `meters[${index}].id`,
        message: `duplicate secondary address ${secondary} (same id, manufacturer, version and medium as meters[${firstSecondary}])`,
      });
    }
  });
  return problems;
}

function parseYaml(text: string, sourceName: string): unknown {
  const lineCounter = new LineCounter();
  const document = parseDocument(text, { lineCounter, prettyErrors: false });
  if (document.errors.length > 0) {
    throw new ConfigError(
      document.errors.slice(0, 5).map((error) => {
        const { line, col } = lineCounter.linePos(error.pos[0]);
        return { path: `${sourceName}:${line}:${col}`, message: error.message };
      }),
    );
  }
  return document.toJS() ?? {};
}

/** Validates the text of a meters.yaml; a ConfigError lists every problem. */
export function parseSimulatorConfig(text: string, sourceName = 'meters.yaml'): SimulatorFileConfig {
  const tree = parseYaml(text, sourceName);
  if (typeof tree !== 'object' || tree === null || Array.isArray(tree)) {
    throw new ConfigError([
      { path: '(root)', message: 'the file must be a mapping (baud:, faults:, meters:, ...)' },
    ]);
  }
  const translator = createIssueTranslator();
  const result = fileSchema.safeParse(tree, { error: translator.errorMap });
  if (!result.success) throw new ConfigError(translator.toProblems(result.error.issues));
  const file = result.data;
  const meters = file.meters?.map(toMeterSpec);
  const duplicates = meters === undefined ? [] : duplicateProblems(meters);
  if (duplicates.length > 0) throw new ConfigError(duplicates);
  return {
    baud: file.baud,
    seed: file.seed,
    fast: file.fast,
    turnaroundMs: file.turnaround_ms,
    spreadAnswers: file.spread_answers,
    faults: {
      ...(file.faults?.no_answer === undefined ? {} : { noAnswer: file.faults.no_answer }),
      ...(file.faults?.corrupt === undefined ? {} : { corrupt: file.faults.corrupt }),
      ...(file.faults?.slow_ms === undefined ? {} : { slowMs: file.faults.slow_ms }),
    },
    meters,
  };
}

export async function loadSimulatorConfig(path: string): Promise<SimulatorFileConfig> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    const { code, message } = error as NodeJS.ErrnoException;
    const reason = code === 'ENOENT' ? 'file not found' : message;
    throw new ConfigError([{ path, message: `cannot read the meters file: ${reason}` }]);
  }
  return parseSimulatorConfig(text, path);
}
