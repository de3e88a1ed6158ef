import { readFileSync, writeFileSync } from 'node:fs';
import type { Recorder, Recording, ReadingRecord } from './recorder.js';
import type { ReportInput } from './report.js';

// raw.json: everything a soak's report is computed from (every reading's seq, ts and arrival, every
// state change, event and answer, the fault records, the /proc samples, the database counts), written
// at the end of each run, so its figures can be looked into or recomputed (reanalyse.ts) after the
// analysis changes, without running it again.

type Raw = Omit<ReportInput, 'recorder' | 'database'> & {
  recorder: {
    readings: Record<string, [number, number, number][]>;
    availability: Record<string, Recording['bridgeState']>;
    bridgeState: Recording['bridgeState'];
    health: Recording['health'];
    events: Recording['events'];
    devices: Record<string, { id: string; driver: string; bus: string }>;
    malformedReadings?: number;
  };
  database?: { lastSeq: Record<string, number>; queued: Record<string, number[]> };
};

export function writeRaw(path: string, input: ReportInput, recorder: Recorder): void {
  const raw = {
    ...input,
    recorder: {
      readings: Object.fromEntries(
        [...recorder.readings].map(([id, list]) => [id, list.map((r) => [r.seq, r.ts, r.at])]),
      ),
      availability: Object.fromEntries(recorder.availability),
      bridgeState: recorder.bridgeState,
      health: recorder.health,
      events: recorder.events,
      responses: recorder.responses,
      devices: Object.fromEntries(recorder.devices),
      outages: recorder.outages,
      malformedReadings: recorder.malformedReadings,
    },
    database: input.database && {
      lastSeq: Object.fromEntries(input.database.lastSeq),
      queued: Object.fromEntries([...input.database.queued].map(([id, seqs]) => [id, [...seqs]])),
    },
  };
  writeFileSync(path, JSON.stringify(raw));
}

export function readRaw(path: string): ReportInput {
  const raw = JSON.parse(readFileSync(path, 'utf8')) as Raw;
  const recording: Recording = {
    readings: new Map(
      Object.entries(raw.recorder.readings).map(([id, list]) => [
        id,
        list.map(([seq, ts, at]): ReadingRecord => ({ seq, ts, at })),
      ]),
    ),
    availability: new Map(Object.entries(raw.recorder.availability)),
    bridgeState: raw.recorder.bridgeState,
    health: raw.recorder.health,
    events: raw.recorder.events,
    devices: new Map(Object.entries(raw.recorder.devices)),
    malformedReadings: raw.recorder.malformedReadings ?? 0,
  };
  return {
    ...raw,
    recorder: recording,
    database: raw.database && {
      lastSeq: new Map(Object.entries(raw.database.lastSeq)),
      queued: new Map(Object.entries(raw.database.queued).map(([id, seqs]) => [id, new Set(seqs)])),
    },
  };
}
