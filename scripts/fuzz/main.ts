// `npm run fuzz`: seeded mutation fuzzing of every masam parser (scripts/fuzz/targets.ts), each input in a
// child process under a time and memory cap. Prints per parser the inputs run, typed errors, valid results
// and findings (untyped exceptions, hangs, crashes, memory past the cap or the allowance), saves each
// finding for replay, and exits 1 when there is any.
//
//   npm run fuzz -- [--parser nifti,pth] [--count 10000] [--seed 1] [--time-limit 10000]
//                   [--memory-limit 1024] [--findings test-output/fuzz-findings] [--results file.md]
//   npm run fuzz -- --replay test-output/fuzz-findings/pth-1-1234.bin
import { readFileSync, writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { findingParser, saveFinding } from './findings.js';
import { fuzzInput } from './inputs.js';
import { FINDING_KINDS, type Outcome } from './outcome.js';
import { Sandbox } from './sandbox.js';
import { TARGETS, targetNamed } from './targets.js';

const { values } = parseArgs({
  options: {
    parser: { type: 'string', multiple: true },
    count: { type: 'string', default: '10000' },
    seed: { type: 'string', default: '1' },
    'time-limit': { type: 'string', default: '10000' },
    'memory-limit': { type: 'string', default: '1024' },
    findings: { type: 'string', default: 'test-output/fuzz-findings' },
    results: { type: 'string' },
    replay: { type: 'string' },
  },
});

function positiveInt(flag: string, text: string): number {
  const n = Number(text);
  if (!Number.isSafeInteger(n) || n < 0) {
    console.error(`fuzz: --${flag} must be a non-negative integer, got '${text}'`);
    process.exit(2);
  }
  return n;
}

const limits = {
  timeMs: positiveInt('time-limit', values['time-limit']),
  memoryMb: positiveInt('memory-limit', values['memory-limit']),
};
const sandbox = new Sandbox(limits);

if (values.replay) {
  const parser = values.parser?.[0] ?? findingParser(values.replay);
  const outcome = await sandbox.run({
    kind: 'replay',
    target: parser,
    input: new Uint8Array(readFileSync(values.replay)),
  });
  sandbox.close();
  console.log(`${parser}: ${outcome.kind}${outcome.detail ? ` — ${outcome.detail}` : ''}`);
  if (outcome.stack) console.log(outcome.stack);
  process.exit(FINDING_KINDS.has(outcome.kind) ? 1 : 0);
}

const count = positiveInt('count', values.count);
const runSeed = positiveInt('seed', values.seed);
const targets = (values.parser ?? TARGETS.map((t) => t.name)).flatMap((p) => p.split(',')).map(targetNamed);

interface Tally {
  parser: string;
  inputs: number;
  typed: number;
  valid: number;
  findings: number;
  maxPeakMb: number;
  seconds: number;
}

const tallies: Tally[] = [];
for (const target of targets) {
  const t0 = Date.now();
  const tally: Tally = {
    parser: target.name,
    inputs: 0,
    typed: 0,
    valid: 0,
    findings: 0,
    maxPeakMb: 0,
    seconds: 0,
  };
  for (let index = 0; index < count; index++) {
    const outcome: Outcome = await sandbox.run({ kind: 'run', target: target.name, runSeed, index });
    tally.inputs++;
    tally.maxPeakMb = Math.max(tally.maxPeakMb, (outcome.peakGrowth ?? 0) / 1024 ** 2);
    if (outcome.kind === 'typed') tally.typed++;
    else if (outcome.kind === 'valid') tally.valid++;
    else {
      tally.findings++;
      const path = saveFinding(
        values.findings,
        { parser: target.name, runSeed, index, outcome },
        fuzzInput(target, runSeed, index),
      );
      console.log(
        `  finding: ${target.name} #${index} ${outcome.kind}: ${outcome.detail.split('\n')[0]} → ${path}`,
      );
    }
  }
  tally.seconds = (Date.now() - t0) / 1000;
  tallies.push(tally);
  console.log(
    `${target.name}: ${tally.inputs} inputs, ${tally.typed} typed errors, ${tally.valid} valid, ${tally.findings} findings (${tally.seconds.toFixed(0)} s)`,
  );
}
sandbox.close();

const table = [
  `Fuzz run: seed ${runSeed}, ${count} inputs per parser, time limit ${limits.timeMs} ms, memory cap ${limits.memoryMb} MiB.`,
  '',
  '| parser | inputs | typed errors | valid | findings | max peak growth (MiB) | seconds |',
  '|---|---:|---:|---:|---:|---:|---:|',
  ...tallies.map(
    (t) =>
      `| ${t.parser} | ${t.inputs} | ${t.typed} | ${t.valid} | ${t.findings} | ${t.maxPeakMb.toFixed(1)} | ${t.seconds.toFixed(0)} |`,
  ),
].join('\n');
console.log(`\n${table}`);
if (values.results) writeFileSync(values.results, `${table}\n`);
const total = tallies.reduce((n, t) => n + t.findings, 0);
if (total > 0) console.log(`\n${total} findings saved under ${values.findings}`);
process.exit(total > 0 ? 1 : 0);
