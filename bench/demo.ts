// Demo benchmark: what `masam demo` shows a new user. Runs the demo command itself (phantom, bundled model,
// segmentation, evaluation, report files) on its default case (seed 42) and reports the mean Dice it prints,
// Dice per organ and the command's wall time; then the same command on the 8 unseen seeds of the stride
// benchmark (42–49), whose mean says whether seed 42 is a lucky case.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BUNDLED_MODEL, demo } from '../src/cli/commands/demo.js';
import type { BenchMetric, BenchResult } from './bench_result.js';

/** The demo's default case, then the stride benchmark's unseen cases (bench/stride.ts SEEDS). */
const DEMO_SEED = 42;
const SEEDS = [42, 43, 44, 45, 46, 47, 48, 49];

export interface DemoScore {
  readonly seed: number;
  /** The mean Dice over the organs, as the demo prints it (summary.json `overall.dice`). */
  readonly mean: number;
  readonly perOrgan: ReadonlyArray<{ readonly organ: string; readonly dice: number }>;
  /** Wall time of the demo command in this process (model load to report files; no node start-up). */
  readonly seconds: number;
}

interface Summary {
  readonly classNames: Readonly<Record<string, string>>;
  readonly perClass: ReadonlyArray<{ classId: number; stats: Record<string, { mean: number }> }>;
  readonly overall: Readonly<Record<string, number>>;
}

/** Runs `masam demo --seed <seed> --model <model>` and reads the Dice it wrote to summary.json. */
export async function runDemo(seed: number, model: string = BUNDLED_MODEL): Promise<DemoScore> {
  const out = mkdtempSync(join(tmpdir(), 'masam-bench-demo-'));
  try {
    const started = performance.now();
    const code = await demo.run(['--out', out, '--seed', String(seed), '--model', model]);
    const seconds = (performance.now() - started) / 1000;
    if (code !== 0) throw new Error(`demo bench: masam demo --seed ${seed} exited with ${code}`);
    const summary = JSON.parse(readFileSync(join(out, 'summary.json'), 'utf8')) as Summary;
    const perOrgan = summary.perClass.map((c) => ({
      organ: summary.classNames[String(c.classId)]!,
      dice: c.stats['dice']!.mean,
    }));
    return { seed, mean: summary.overall['dice']!, perOrgan, seconds };
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
}

const mean = (xs: readonly number[]): number => xs.reduce((a, b) => a + b, 0) / xs.length;

export async function runDemoBench(): Promise<BenchResult> {
  // The demo's own case first, in a fresh process: its wall time includes opening the model, as a user's does.
  const first = await runDemo(DEMO_SEED);
  const others: DemoScore[] = [];
  for (const seed of SEEDS.filter((s) => s !== DEMO_SEED)) others.push(await runDemo(seed));
  const all = [first, ...others];
  const organs = first.perOrgan.length;
  const metrics: BenchMetric[] = [
    {
      name: 'demo_mean_dice',
      value: first.mean,
      unit: 'Dice',
      note: `\`masam demo\` (seed ${DEMO_SEED}): mean over the ${organs} organs, as it prints`,
    },
    {
      name: 'demo_mean_dice_seeds_42_49',
      value: mean(all.map((s) => s.mean)),
      unit: 'Dice',
      note: `mean over \`masam demo --seed S\`, S = ${SEEDS.join(', ')}, of the organ mean (per seed: ${all.map((s) => s.mean.toFixed(3)).join(', ')})`,
    },
    {
      name: 'demo_seconds',
      value: first.seconds,
      unit: 's',
      note: `wall time of the demo command (seed ${DEMO_SEED}, first run in the process: model load, phantom, segmentation, evaluation, report files; node start-up not included)`,
    },
  ];
  for (const [o, { organ, dice }] of first.perOrgan.entries()) {
    metrics.push({
      name: `demo_dice_${organ}`,
      value: dice,
      unit: 'Dice',
      note: `seed ${DEMO_SEED}; mean over seeds 42–49 ${mean(all.map((s) => s.perOrgan[o]!.dice)).toFixed(3)}`,
    });
  }
  return {
    metrics,
    notes: [
      `Model: the bundled demo MA-SAM (${BUNDLED_MODEL.split('/').slice(-3).join('/')}), run through the demo command itself (src/cli/commands/demo.ts) with --out in a temporary folder.`,
      `Cases: \`makePhantom('ct', new Rng(S))\` as the demo makes them, the same seeds as the stride benchmark (bench/stride.ts checks none of them is a training case of the bundled model).`,
      'Dice per organ with the official empty-mask rules, read from the summary.json the demo writes; organs the model misses count as 0 (bench/stride.ts checks that every organ is present in each of these cases).',
      'Timings vary with other load on the machine; the Dice figures are deterministic.',
    ],
  };
}
