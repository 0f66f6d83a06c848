// Model benchmark (issue 3): MA-SAM ViT-B, image 512, 5 slices, 12 classes, random weights made in process.
// Forward per stack and one training step (forward + backward + host AdamW over the trainable set), each
// in its own child process so that its peak RSS is its own.
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { loadMaSam } from '../src/api/model.js';
import { Rng } from '../src/core/index.js';
import { countParams, officialParamName } from '../src/models/masam/checkpoint.js';
import { declareMaSamParams } from '../src/models/masam/masam.js';
import { resolveConfig } from '../src/models/sam/config.js';
import { AdamW } from '../src/train/index.js';
import type { BenchMetric, BenchResult } from './bench_result.js';

const CONFIG = { preset: 'vit_b', num_classes: 12, img_size: 512, slices: 5 } as const;
const SHAPE = [1, 5, 3, 512, 512];

interface ChildReport {
  seconds: number[];
  compileSeconds: number;
  maxRssMB: number;
  trainable?: number;
}

async function child(mode: 'forward' | 'train', reps: number): Promise<ChildReport> {
  const t0 = performance.now();
  const model = await loadMaSam({ config: CONFIG, seed: 1 });
  const rng = new Rng(2);
  const image = Float32Array.from({ length: SHAPE.reduce((a, b) => a * b, 1) }, () => rng.uniform());
  const label = Int32Array.from({ length: 5 * 512 * 512 }, () => rng.int(13));
  const seconds: number[] = [];
  let compileSeconds = 0;
  if (mode === 'forward') {
    for (let i = 0; i <= reps; i++) {
      const s = performance.now();
      await model.forward(image, { shape: SHAPE });
      if (i === 0) compileSeconds = (performance.now() - t0) / 1000;
      else seconds.push((performance.now() - s) / 1000);
    }
  } else {
    const params = new Map([...model.trainable].map((n) => [n, model.weights.get(n)!.data]));
    const byOfficial = new Map([...model.trainable].map((n) => [officialParamName(n), n]));
    const opt = new AdamW(params, { weightDecay: 0.1 });
    for (let i = 0; i <= reps; i++) {
      const s = performance.now();
      const r = await model.lossAndGrads(image, label, { shape: SHAPE });
      opt.step(new Map([...r.grads].map(([k, g]) => [byOfficial.get(k)!, g.data])), 1e-4);
      if (i === 0) compileSeconds = (performance.now() - t0) / 1000;
      else seconds.push((performance.now() - s) / 1000);
    }
  }
  return {
    seconds,
    compileSeconds,
    maxRssMB: process.resourceUsage().maxRSS / 1024,
    trainable: model.trainable.size,
  };
}

function runChild(mode: 'forward' | 'train', reps: number): ChildReport {
  const r = spawnSync(
    process.execPath,
    ['--import', 'tsx', fileURLToPath(import.meta.url), mode, String(reps)],
    {
      encoding: 'utf8',
      maxBuffer: 1 << 24,
    },
  );
  if (r.status !== 0) throw new Error(`model bench child (${mode}) failed:\n${r.stderr}`);
  return JSON.parse(r.stdout.trim().split('\n').at(-1)!) as ChildReport;
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

export async function runModelBench(): Promise<BenchResult> {
  const cfg = resolveConfig(CONFIG);
  const { shapes, groups } = declareMaSamParams(cfg);
  const trainableCount = countParams(
    shapes,
    [...groups].filter(([, g]) => g !== 'base' && g !== 'buffers').map(([n]) => n),
  );
  const fwd = runChild('forward', 3);
  const train = runChild('train', 2);
  const metrics: BenchMetric[] = [
    {
      name: 'forward_s',
      value: median(fwd.seconds),
      unit: 's',
      note: `one stack [1, 5, 3, 512, 512], median of ${fwd.seconds.length} after a warm-up`,
    },
    {
      name: 'forward_peak_rss_gb',
      value: fwd.maxRssMB / 1024,
      unit: 'GB',
      note: 'max RSS of the forward process',
    },
    {
      name: 'forward_first_call_s',
      value: fwd.compileSeconds,
      unit: 's',
      note: 'init weights + trace + ORT session + first run',
    },
    {
      name: 'train_step_s',
      value: median(train.seconds),
      unit: 's',
      note: `forward + backward + AdamW, median of ${train.seconds.length}`,
    },
    {
      name: 'train_peak_rss_gb',
      value: train.maxRssMB / 1024,
      unit: 'GB',
      note: 'max RSS of the training process',
    },
    {
      name: 'trainable_params',
      value: trainableCount,
      unit: 'params',
      note: 'FacT + adapters + prompt encoder + mask decoder',
    },
  ];
  return {
    metrics,
    notes: [
      'Reference on this machine kind (issue 3): official PyTorch (torch 1.13 CPU, 2 threads) 31.0 s per forward stack, 51.4 s per train step, 9.3 GB peak RSS.',
      `masam vs PyTorch: forward ${(31.0 / median(fwd.seconds)).toFixed(2)}×, train step ${(51.4 / median(train.seconds)).toFixed(2)}× faster`,
    ],
  };
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const [mode, reps] = process.argv.slice(2) as ['forward' | 'train', string];
  console.log(JSON.stringify(await child(mode, Number(reps))));
}
