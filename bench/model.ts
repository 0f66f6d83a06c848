// Model benchmark (issues 3 and 12): MA-SAM at 512 px, 5 slices, 12 classes, random weights made in process.
// Forward per stack, and training steps exactly as `masam train` runs them — the executor (train/executor.ts)
// in training mode (FacT dropout noise drawn per step), then host AdamW over the trainable set — for each
// recompute policy, micro-batched batches, ViT-H, and two data-parallel workers. Each configuration runs in
// its own child process, so that its peak RSS is its own.
// `npm run bench -- model [--only name,name]` runs all (or the named) configurations.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadMaSam } from '../src/api/model.js';
import { Rng, hostTensor, splitFirstAxis } from '../src/core/index.js';
import { countParams } from '../src/models/masam/checkpoint.js';
import { declareMaSamParams } from '../src/models/masam/masam.js';
import { resolveConfig } from '../src/models/sam/config.js';
import { AdamW } from '../src/train/index.js';
import { Executor, type RecomputePolicy, type StackBatch } from '../src/train/executor.js';
import { ParallelExecutor } from '../src/train/parallel_executor.js';
import type { BenchMetric, BenchResult, PreviousResult } from './bench_result.js';

const SLICES = 5;
const SIZE = 512;
const CLASSES = 12;

/** One benchmarked configuration, run in its own process. */
interface Case {
  readonly name: string;
  readonly mode: 'forward' | 'train' | 'profile';
  readonly preset: 'vit_b' | 'vit_l' | 'vit_h';
  readonly recompute?: RecomputePolicy;
  readonly batch?: number;
  readonly microBatch?: number;
  /** Data-parallel workers (parallel_executor.ts). */
  readonly workers?: number;
  /** Timed repetitions after one warm-up (which includes compiling). */
  readonly reps: number;
}

const CASES: readonly Case[] = [
  { name: 'vit_b_forward', mode: 'forward', preset: 'vit_b', reps: 3 },
  { name: 'vit_b_train_blocks', mode: 'train', preset: 'vit_b', recompute: 'blocks', reps: 2 },
  { name: 'vit_b_train_none', mode: 'train', preset: 'vit_b', recompute: 'none', reps: 2 },
  {
    name: 'vit_b_batch4_micro1',
    mode: 'train',
    preset: 'vit_b',
    recompute: 'blocks',
    batch: 4,
    microBatch: 1,
    reps: 1,
  },
  { name: 'vit_l_train_blocks', mode: 'train', preset: 'vit_l', recompute: 'blocks', reps: 1 },
  { name: 'vit_h_train_blocks', mode: 'train', preset: 'vit_h', recompute: 'blocks', reps: 1 },
  {
    name: 'vit_b_batch24_micro1',
    mode: 'train',
    preset: 'vit_b',
    recompute: 'blocks',
    batch: 24,
    microBatch: 1,
    reps: 0,
  },
  {
    name: 'vit_b_workers2',
    mode: 'train',
    preset: 'vit_b',
    recompute: 'blocks',
    batch: 2,
    microBatch: 1,
    workers: 2,
    reps: 1,
  },
  {
    name: 'vit_b_workers1',
    mode: 'train',
    preset: 'vit_b',
    recompute: 'blocks',
    batch: 2,
    microBatch: 1,
    reps: 1,
  },
  { name: 'vit_b_profile', mode: 'profile', preset: 'vit_b', recompute: 'blocks', reps: 1 },
];

interface ChildReport {
  /** Seconds per timed repetition (for reps 0: the first step, compile included). */
  seconds: number[];
  firstCallSeconds: number;
  maxRssGB: number;
  trainable: number;
  /** Profile mode: kernel milliseconds per program and per op type of the profiled step. */
  profile?: { programs: Record<string, number>; ops: Record<string, number>; runs: Record<string, number> };
}

async function child(c: Case): Promise<ChildReport> {
  const t0 = performance.now();
  const model = await loadMaSam({
    config: { preset: c.preset, num_classes: CLASSES, img_size: SIZE, slices: SLICES },
    seed: 1,
  });
  const rng = new Rng(2);
  const batch = c.batch ?? 1;
  const image = hostTensor('float32', [batch, SLICES, 3, SIZE, SIZE]);
  for (let i = 0; i < image.data.length; i++) image.data[i] = rng.uniform();
  const label = hostTensor('int32', [batch * SLICES, SIZE, SIZE]);
  for (let i = 0; i < label.data.length; i++) label.data[i] = rng.int(CLASSES + 1);
  const seconds: number[] = [];
  let firstCallSeconds = 0;
  let run: () => Promise<unknown>;
  let closeExecutor = async () => {};
  const profileDir = mkdtempSync(join(tmpdir(), 'masam-profile-'));
  if (c.mode === 'forward') {
    run = () => model.forward(image.data, { shape: [...image.shape] });
  } else {
    const executorOptions = {
      config: model.config,
      weights: model.weights,
      trainable: model.trainable,
      dropout: true,
      recompute: c.recompute ?? 'blocks',
      ...(c.mode === 'profile' && { profilePrefix: join(profileDir, 'step') }),
    };
    const executor =
      (c.workers ?? 1) > 1
        ? new ParallelExecutor(executorOptions, { workers: c.workers! })
        : new Executor(executorOptions);
    closeExecutor = async () => {
      if (executor instanceof ParallelExecutor) await executor.close();
      else if (c.mode === 'profile') await executor.endProfiling();
    };
    const optimizer = new AdamW(new Map([...model.trainable].map((n) => [n, model.weights.get(n)!.data])), {
      weightDecay: 0.1,
    });
    const micro = c.microBatch ?? batch;
    const n = batch / micro;
    run = async () => {
      const microBatches: StackBatch[] = [];
      for (let j = 0; j < n; j++) {
        const noise = new Map(
          executor.noiseSites(micro).map((site) => {
            const t = hostTensor('float32', site.shape);
            for (let i = 0; i < t.data.length; i++) t.data[i] = rng.uniform();
            return [site.name, t] as const;
          }),
        );
        microBatches.push({
          image: splitFirstAxis(image, n)[j]!,
          label: splitFirstAxis(label, n)[j]!,
          noise,
        });
      }
      const r = await executor.lossAndGrads(microBatches);
      optimizer.step(r.grads, 1e-4);
    };
  }
  for (let i = 0; i <= c.reps; i++) {
    const s = performance.now();
    await run();
    if (i === 0) firstCallSeconds = (performance.now() - t0) / 1000;
    if (i > 0 || c.reps === 0) seconds.push((performance.now() - s) / 1000);
  }
  await closeExecutor();
  return {
    seconds,
    firstCallSeconds,
    maxRssGB: process.resourceUsage().maxRSS / 2 ** 20,
    trainable: model.trainable.size,
    ...(c.mode === 'profile' && { profile: readProfiles(profileDir) }),
  };
}

/**
 * Sums ORT's traces (one JSON per program, named after it — executor.ts compileOptions): kernel time per
 * program kind and per op type, and model runs per kind. Session creation is not a model run.
 */
function readProfiles(dir: string): NonNullable<ChildReport['profile']> {
  const programs: Record<string, number> = {};
  const ops: Record<string, number> = {};
  const runs: Record<string, number> = {};
  for (const file of readdirSync(dir).filter((f) => f.endsWith('.json'))) {
    // step-block-grad-0-false-1_2026-….json → block-grad (the kind, without block and stack numbers)
    const kind = file
      .replace(/^step-/, '')
      .replace(/_\d{4}-.*$/, '')
      .replace(/-(\d+|true|false)/g, '');
    const events = JSON.parse(readFileSync(join(dir, file), 'utf8')) as {
      cat?: string;
      name: string;
      dur?: number;
      args?: { op_name?: string };
    }[];
    runs[kind] = (runs[kind] ?? 0) + events.filter((e) => e.name === 'model_run').length;
    for (const e of events) {
      if (e.cat !== 'Node' || !e.name.endsWith('_kernel_time')) continue;
      const ms = (e.dur ?? 0) / 1000;
      const op = e.args?.op_name ?? '?';
      programs[kind] = (programs[kind] ?? 0) + ms;
      ops[op] = (ops[op] ?? 0) + ms;
    }
  }
  return { programs, ops, runs };
}

function runChild(c: Case): ChildReport {
  const r = spawnSync(
    process.execPath,
    ['--import', 'tsx', fileURLToPath(import.meta.url), JSON.stringify(c)],
    {
      encoding: 'utf8',
      maxBuffer: 1 << 24,
      stdio: ['ignore', 'pipe', 'inherit'],
    },
  );
  if (r.status !== 0) throw new Error(`model bench child ${c.name} failed (exit ${r.status})`);
  const report = JSON.parse(r.stdout.trim().split('\n').at(-1)!) as ChildReport;
  process.stderr.write(
    `${c.name}: ${report.seconds.map((s) => s.toFixed(1)).join(', ')} s, ${report.maxRssGB.toFixed(2)} GB\n`,
  );
  return report;
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

/** PyTorch's official code on this machine kind (issue 12, measured side by side). */
const PYTORCH = { forwardS: 32.3, trainStepS: 56.8, trainPeakGB: 8.8 };

export async function runModelBench(
  args: readonly string[] = [],
  previous?: PreviousResult,
): Promise<BenchResult> {
  const onlyAt = args.indexOf('--only');
  const only = onlyAt >= 0 ? new Set(args[onlyAt + 1]!.split(',')) : null;
  const unknown = [...(only ?? [])].filter((n) => !CASES.some((c) => c.name === n));
  if (unknown.length > 0)
    throw new Error(
      `--only: unknown case(s) ${unknown.join(', ')}; cases: ${CASES.map((c) => c.name).join(', ')}`,
    );
  const reports = new Map<string, ChildReport>();
  for (const c of CASES) if (!only || only.has(c.name)) reports.set(c.name, runChild(c));
  const cfg = resolveConfig({ preset: 'vit_b', num_classes: CLASSES, img_size: SIZE, slices: SLICES });
  const { shapes, groups } = declareMaSamParams(cfg);
  const metrics: BenchMetric[] = [
    {
      name: 'trainable_params',
      value: countParams(
        shapes,
        [...groups].filter(([, g]) => g !== 'base' && g !== 'buffers').map(([n]) => n),
      ),
      unit: 'params',
      note: 'ViT-B: FacT + adapters + prompt encoder + mask decoder',
    },
  ];
  const add = (name: string, value: number | undefined, unit: string, note: string) => {
    if (value !== undefined) metrics.push({ name, value, unit, note });
  };
  const r = (name: string) => reports.get(name);
  const step = (name: string) => (r(name) ? median(r(name)!.seconds) : undefined);
  add(
    'forward_s',
    step('vit_b_forward'),
    's',
    'ViT-B, one stack [1, 5, 3, 512, 512], median after a warm-up',
  );
  add('forward_peak_rss_gb', r('vit_b_forward')?.maxRssGB, 'GiB', 'max RSS of the forward process');
  add(
    'train_step_s',
    step('vit_b_train_blocks'),
    's',
    'ViT-B, batch 1, default policy (recompute blocks): forward + backward + AdamW, median after a warm-up',
  );
  add('train_peak_rss_gb', r('vit_b_train_blocks')?.maxRssGB, 'GiB', 'max RSS of that process');
  add('train_step_none_s', step('vit_b_train_none'), 's', 'ViT-B, batch 1, --recompute none (one graph)');
  add('train_peak_rss_none_gb', r('vit_b_train_none')?.maxRssGB, 'GiB', 'max RSS with --recompute none');
  const b4 = step('vit_b_batch4_micro1');
  add('batch4_micro1_step_s', b4, 's', 'ViT-B, batch 4 as 4 exact micro-batches of 1 stack');
  add('batch4_stacks_per_s', b4 && 4 / b4, 'stacks/s', 'ViT-B throughput at batch 4 (micro-batch 1)');
  add('batch4_train_peak_rss_gb', r('vit_b_batch4_micro1')?.maxRssGB, 'GiB', 'max RSS at batch 4');
  add(
    'vit_l_train_step_s',
    step('vit_l_train_blocks'),
    's',
    'ViT-L, batch 1, recompute blocks, after a warm-up step',
  );
  add('vit_l_train_peak_rss_gb', r('vit_l_train_blocks')?.maxRssGB, 'GiB', 'max RSS of the ViT-L process');
  add(
    'vit_h_train_step_s',
    step('vit_h_train_blocks'),
    's',
    'ViT-H, batch 1, recompute blocks, after a warm-up step',
  );
  add(
    'vit_h_train_peak_rss_gb',
    r('vit_h_train_blocks')?.maxRssGB,
    'GiB',
    'max RSS of the ViT-H process (2.5 GB of float32 weights)',
  );
  add(
    'batch24_step_s',
    step('vit_b_batch24_micro1'),
    's',
    'ViT-B, batch 24 (the official recipe) as 24 micro-batches of 1, first step (compile included)',
  );
  add('batch24_train_peak_rss_gb', r('vit_b_batch24_micro1')?.maxRssGB, 'GiB', 'max RSS at batch 24');
  const w2 = step('vit_b_workers2');
  const w1 = step('vit_b_workers1');
  add('workers2_step_s', w2, 's', 'ViT-B, batch 2 as 2 micro-batches, 2 workers × 1 thread');
  add('workers1_step_s', w1, 's', 'the same batch in one process × 2 threads');
  add('workers2_speedup', w1 && w2 && w1 / w2, '×', 'workers1_step_s / workers2_step_s');
  add('workers2_peak_rss_gb', r('vit_b_workers2')?.maxRssGB, 'GiB', 'max RSS with 2 workers');
  const profile = r('vit_b_profile');
  const profileNotes: string[] = [];
  if (profile?.profile) {
    const { programs, ops, runs } = profile.profile;
    const kernelS = Object.values(programs).reduce((a, b) => a + b, 0) / 1000;
    const steps = profile.seconds.length + 1; // the warm-up step is profiled too
    add('profile_step_s', median(profile.seconds), 's', 'the profiled step (ORT profiling on)');
    add(
      'profile_kernel_s_per_step',
      kernelS / steps,
      's',
      "sum of ORT kernel times per step (ORT's profiler)",
    );
    profileNotes.push(
      `Profile (ORT profiler, ViT-B batch 1, recompute blocks; kernel seconds per step, runs per step): ${Object.entries(
        programs,
      )
        .sort((a, b) => b[1] - a[1])
        .map(([k, ms]) => `${k} ${(ms / 1000 / steps).toFixed(2)} s (${(runs[k] ?? 0) / steps} runs)`)
        .join(', ')}.`,
      `By op type: ${Object.entries(ops)
        .sort((a, b) => b[1] - a[1])
        .slice(0, 8)
        .map(([k, ms]) => `${k} ${(ms / 1000 / steps).toFixed(2)} s`)
        .join(', ')}.`,
    );
  }
  // With --only: the previous file's metrics that this run did not measure, marked with their run's date.
  const measured = new Set(metrics.map((m) => m.name));
  for (const m of previous?.metrics ?? []) {
    if (measured.has(m.name)) continue;
    const note = m.note?.includes('(run of ') ? m.note : `${m.note ?? ''} (run of ${previous!.machine.date})`;
    metrics.push({ ...m, note });
  }
  if (profileNotes.length === 0)
    profileNotes.push(
      ...(previous?.notes ?? []).filter((n) => n.startsWith('Profile') || n.startsWith('By op type')),
    );
  const metricValue = (name: string) => metrics.find((m) => m.name === name)?.value;
  const ratio = (a: number | undefined, b: number) =>
    a === undefined ? 'not run' : `${(a / b).toFixed(2)}×`;
  return {
    metrics,
    notes: [
      `Official PyTorch code on this machine kind (issue 12): forward ${PYTORCH.forwardS} s, train step ${PYTORCH.trainStepS} s, peak ${PYTORCH.trainPeakGB} GiB.`,
      `masam / PyTorch: forward time ${ratio(metricValue('forward_s'), PYTORCH.forwardS)}, train step time ${ratio(metricValue('train_step_s'), PYTORCH.trainStepS)}, train peak RSS ${ratio(metricValue('train_peak_rss_gb'), PYTORCH.trainPeakGB)} (goals: ≤ 0.5× each).`,
      ...profileNotes,
    ],
  };
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const c = JSON.parse(process.argv[2]!) as Case;
  console.log(JSON.stringify(await child(c)));
}
