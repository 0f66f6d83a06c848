// Findings on disk: the input that caused one (`<parser>-<seed>-<index>.bin`) and what happened
// (`.json`: parser, run seed, index, outcome), so `npm run fuzz -- --replay <file.bin>` reruns it and a
// fixed one can move into the regression corpus (scripts/fuzz/corpus/<parser>/).
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Outcome } from './outcome.js';

export interface FindingRecord {
  readonly parser: string;
  readonly runSeed: number;
  readonly index: number;
  readonly outcome: Outcome;
  /** How to rerun it. */
  readonly replay: string;
}

/** Writes a finding's input and record into `dir`; returns the input's path. */
export function saveFinding(dir: string, record: Omit<FindingRecord, 'replay'>, input: Uint8Array): string {
  mkdirSync(dir, { recursive: true });
  const base = join(dir, `${record.parser}-${record.runSeed}-${record.index}`);
  const replay = `npm run fuzz -- --replay ${base}.bin`;
  writeFileSync(`${base}.bin`, input);
  writeFileSync(`${base}.json`, `${JSON.stringify({ ...record, replay }, null, 2)}\n`);
  return `${base}.bin`;
}

/** The parser a saved finding's input belongs to (from the record beside it). */
export function findingParser(inputPath: string): string {
  const record = JSON.parse(readFileSync(inputPath.replace(/\.bin$/, '.json'), 'utf8')) as FindingRecord;
  return record.parser;
}
