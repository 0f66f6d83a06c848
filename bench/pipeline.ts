// Pipeline benchmark (issue 5 item 8, issue 13 item 7): a 512×512×150 phantom CT segmented by MA-SAM ViT-B
// (random weights, exported as a split model like a trained one) through the code `masam segment` runs.
// Cases (`--only a,b`; a partial run keeps the other metrics of the previous result, with their date):
//   fp32_stride5, fp32_stride1   float32 sweeps at stride 5 and at the official stride 1
//   int8_stride5, int8_stride1   the same with the encoder's matrix weights int8 (`export --quantize int8`);
//                                with its float32 case in the same run, the share of voxels that change label
//   edit     a prompt edit: a box-prompted export segments a 10-slice liver box (encoder + decoder), then
//            the box moves and the prompted slices are re-segmented from the kept embeddings (decoder only),
//            at stride 1 and at stride 5
//   dice     the int8 Dice change where Dice means something: the bundled demo model, float32 vs its int8
//            encoder, on the 8 unseen phantom cases of the stride benchmark, per organ
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type MaSamModel, SPLIT_DECODER_FILE, SPLIT_ENCODER_FILE, loadMaSam } from '../src/api/model.js';
import { BUNDLED_MODEL } from '../src/cli/commands/demo.js';
import { openModel, resolveModel } from '../src/cli/model_files.js';
import { Rng } from '../src/core/index.js';
import { makePhantom } from '../src/data/phantom.js';
import { promptsForVolume } from '../src/infer/prompts.js';
import { VolumeSegmenter } from '../src/infer/segment.js';
import type { Volume } from '../src/io/volume.js';
import { dicePerClass } from '../src/metrics/index.js';
import { onnx } from '../src/onnx/proto.js';
import { quantizeWeightsInt8 } from '../src/onnx/quantize.js';
import type { BenchMetric, BenchResult, PreviousResult } from './bench_result.js';

const SIZE: readonly [number, number, number] = [512, 512, 150];
const CASES = ['fp32_stride5', 'int8_stride5', 'fp32_stride1', 'int8_stride1', 'edit', 'dice'] as const;
/** The stride benchmark's unseen cases (bench/stride.ts). */
const DICE_SEEDS = [42, 43, 44, 45, 46, 47, 48, 49];

const mean = (xs: readonly number[]): number => xs.reduce((a, b) => a + b, 0) / xs.length;
const log = (line: string): void => {
  process.stderr.write(`${line}\n`);
};

/** Writes a copy of the split model in `from` whose encoder holds int8 matrix weights. */
function quantizeSplitModel(from: string, to: string): void {
  mkdirSync(to, { recursive: true });
  const encoder = onnx.ModelProto.decode(readFileSync(join(from, SPLIT_ENCODER_FILE)));
  const { model, report } = quantizeWeightsInt8(encoder, { source: join(from, SPLIT_ENCODER_FILE) });
  model.metadataProps = [...(model.metadataProps ?? []), { key: 'masam.quantize', value: 'int8' }];
  writeFileSync(join(to, SPLIT_ENCODER_FILE), onnx.ModelProto.encode(model).finish());
  copyFileSync(join(from, SPLIT_DECODER_FILE), join(to, SPLIT_DECODER_FILE));
  log(`int8: ${report.quantized} MatMuls quantized, ${JSON.stringify(report.keptFloat)} kept float`);
}

/** Share of voxels whose labels differ. */
function changedShare(a: Uint8Array, b: Uint8Array): number {
  let n = 0;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) n++;
  return n / a.length;
}

/** One sweep of the model in `dir` at `stride`; metrics `${prefix}stride${stride}_volume_s` and per slice. */
async function sweep(
  dir: string,
  volume: Volume,
  stride: number,
  prefix: string,
  what: string,
  metrics: BenchMetric[],
): Promise<Uint8Array> {
  const opened = await openModel(dir);
  try {
    const segmenter = new VolumeSegmenter(volume, opened.model, { embeddings: null });
    const t0 = performance.now();
    const r = await segmenter.segment({
      stride,
      onProgress: (done, total) => {
        if (done % 10 === 0) log(`${prefix}stride ${stride}: ${done}/${total} stacks`);
      },
    });
    const seconds = (performance.now() - t0) / 1000;
    log(`${prefix}stride ${stride}: ${seconds.toFixed(1)} s for ${r.stacks} stacks`);
    metrics.push(
      {
        name: `${prefix}stride${stride}_volume_s`,
        value: seconds,
        unit: 's',
        note: `${r.stacks} stacks of 5×512², ViT-B ${what}, 512×512×150 phantom CT`,
      },
      {
        name: `${prefix}stride${stride}_per_slice_s`,
        value: seconds / SIZE[2],
        unit: 's',
        note: 'volume seconds / 150 slices',
      },
    );
    return r.labels.data;
  } finally {
    await opened.release();
  }
}

/**
 * The prompt edit: a box-prompted export segments the liver's 10 middle slices (the encoder runs for the
 * stacks that hold them), then again with the box moved 8 voxels: the second run's seconds per prompted
 * slice, at stride 1 and at stride 5, decoder only (checked: no stack encoded).
 */
async function promptEdit(
  model: MaSamModel,
  dir: string,
  volume: Volume,
  liver: readonly number[],
  metrics: BenchMetric[],
): Promise<void> {
  const prompted = join(dir, 'prompted');
  await model.exportSplit(prompted, { slices: 5, preprocessing: { modality: 'ct' }, prompts: { points: 0 } });
  const opened = await openModel(prompted);
  try {
    const segmenter = new VolumeSegmenter(volume, opened.model);
    const [i1, j1, k1, i2, j2, k2] = liver as [number, number, number, number, number, number];
    const mid = Math.round((k1 + k2) / 2);
    const [from, to] = [mid - 5, mid + 4];
    const slices = to - from + 1;
    const box = (shift: number) =>
      promptsForVolume(
        { box3d: [i1 + shift, j1, from, i2 + shift, j2, to] },
        volume,
        opened.info,
        'prompts',
        'phantom',
      );
    const t0 = performance.now();
    const first = await segmenter.segment({ prompts: box(0) });
    log(
      `prompt edit: first run ${((performance.now() - t0) / 1000).toFixed(1)} s, ${first.stacks} stacks encoded`,
    );
    const encodedBefore = segmenter.encodedStacks;
    for (const stride of [1, 5]) {
      await segmenter.segment({ prompts: box(4), stride }); // untimed: warms this stride's decoder runs
      const t1 = performance.now();
      const edited = await segmenter.segment({ prompts: box(8), stride });
      const seconds = (performance.now() - t1) / 1000;
      if (segmenter.encodedStacks !== encodedBefore) throw new Error('prompt edit: the encoder ran');
      log(
        `prompt edit, stride ${stride}: ${seconds.toFixed(2)} s for ${slices} prompted slices (${edited.stacks} stacks)`,
      );
      const suffix = stride === 1 ? '' : `_stride${stride}`;
      metrics.push(
        {
          name: `prompt_edit_per_slice${suffix}_s`,
          value: seconds / slices,
          unit: 's',
          note: `a liver box moved on ${slices} of the 150 slices, stride ${stride}, from kept embeddings: decoder only (${edited.stacks} stacks; each prompted slice decoded in every stack that holds it), ViT-B decoder float32`,
        },
        {
          name: `prompt_edit_volume${suffix}_s`,
          value: seconds,
          unit: 's',
          note: `the whole re-segmentation of the ${slices} prompted slices (averaging, argmax, resize included)`,
        },
      );
    }
  } finally {
    await opened.release();
  }
}

/** The liver's voxel bounding box [i1, j1, k1, i2, j2, k2] in a phantom. */
function labelBox(label: Volume, value: number): number[] {
  const [nx, ny] = label.shape as [number, number, number];
  const lo = [Infinity, Infinity, Infinity];
  const hi = [-1, -1, -1];
  label.data.forEach((v, p) => {
    if (v !== value) return;
    const ijk = [p % nx, Math.floor(p / nx) % ny, Math.floor(p / (nx * ny))];
    for (let a = 0; a < 3; a++) {
      lo[a] = Math.min(lo[a]!, ijk[a]!);
      hi[a] = Math.max(hi[a]!, ijk[a]!);
    }
  });
  return [...lo, ...hi];
}

/** Dice per organ of the demo model, float32 and int8 encoder, on the unseen phantom cases. */
async function int8Dice(dir: string, metrics: BenchMetric[]): Promise<void> {
  const where = await resolveModel(BUNDLED_MODEL);
  let fp32: string;
  let int8: string;
  if (where.kind === 'split') {
    fp32 = where.dir;
    int8 = join(dir, 'demo-int8');
    quantizeSplitModel(fp32, int8);
  } else {
    // One graph: quantize its encoder's MatMuls only (masam names nodes by scope, image_encoder/…).
    fp32 = where.file;
    int8 = join(dir, 'demo-int8.onnx');
    const { model, report } = quantizeWeightsInt8(onnx.ModelProto.decode(readFileSync(fp32)), {
      include: (node) => node.startsWith('image_encoder/'),
      source: fp32,
    });
    writeFileSync(int8, onnx.ModelProto.encode(model).finish());
    log(
      `int8 (one graph): ${report.quantized} encoder MatMuls quantized, ${JSON.stringify(report.keptFloat)} kept float`,
    );
  }
  const models = { fp32: await openModel(fp32), int8: await openModel(int8) };
  try {
    const info = models.fp32.info;
    const organs = info.classNames.slice(1);
    const dice: Record<'fp32' | 'int8', number[][]> = { fp32: [], int8: [] };
    const changed: number[] = [];
    for (const seed of DICE_SEEDS) {
      const phantom = makePhantom('ct', new Rng(seed), { size: [128, 128, 48] });
      const labels: Partial<Record<'fp32' | 'int8', Uint8Array>> = {};
      for (const kind of ['fp32', 'int8'] as const) {
        const segmenter = new VolumeSegmenter(phantom.image, models[kind].model, { embeddings: null });
        const r = await segmenter.segment({});
        labels[kind] = r.labels.data;
        dice[kind].push(dicePerClass(r.labels, phantom.label, organs.length));
      }
      changed.push(changedShare(labels.fp32!, labels.int8!));
      log(
        `seed ${seed}: mean Dice fp32 ${mean(dice.fp32.at(-1)!).toFixed(4)}, int8 ${mean(dice.int8.at(-1)!).toFixed(4)}`,
      );
    }
    const organMean = (kind: 'fp32' | 'int8', o: number) => mean(dice[kind].map((c) => c[o]!));
    const overall = (kind: 'fp32' | 'int8') => mean(dice[kind].map((c) => mean(c)));
    metrics.push(
      {
        name: 'demo_dice_fp32',
        value: overall('fp32'),
        unit: 'Dice',
        note: `bundled demo model, mean over ${DICE_SEEDS.length} unseen phantoms of the mean over ${organs.length} organs, stride 1`,
      },
      {
        name: 'demo_dice_int8',
        value: overall('int8'),
        unit: 'Dice',
        note: 'the same with the encoder int8',
      },
      {
        name: 'int8_dice_change',
        value: overall('int8') - overall('fp32'),
        unit: 'Dice',
        note: 'int8 − fp32, mean Dice (goal: |change| ≤ 0.01)',
      },
      {
        name: 'int8_voxels_changed_demo',
        value: 100 * mean(changed),
        unit: '%',
        note: `voxels whose label differs between fp32 and int8, mean over cases (max ${(100 * Math.max(...changed)).toFixed(3)} %)`,
      },
    );
    organs.forEach((name, o) => {
      metrics.push({
        name: `int8_dice_change_${name}`,
        value: organMean('int8', o) - organMean('fp32', o),
        unit: 'Dice',
        note: `fp32 ${organMean('fp32', o).toFixed(4)} → int8 ${organMean('int8', o).toFixed(4)}, mean over cases`,
      });
    });
  } finally {
    await models.fp32.release();
    await models.int8.release();
  }
}

export async function runPipelineBench(
  args: readonly string[],
  previous?: PreviousResult,
): Promise<BenchResult> {
  const only = args.includes('--only') ? args[args.indexOf('--only') + 1]!.split(',') : [...CASES];
  for (const c of only)
    if (!(CASES as readonly string[]).includes(c)) throw new Error(`pipeline: unknown case ${c}`);
  const dir = mkdtempSync(join(tmpdir(), 'masam-pipeline-'));
  const metrics: BenchMetric[] = [];
  try {
    if (only.some((c) => c !== 'dice')) {
      const model = await loadMaSam({ config: { preset: 'vit_b', num_classes: 13 }, seed: 1 });
      const fp32 = join(dir, 'vit_b');
      await model.exportSplit(fp32, { slices: 5, preprocessing: { modality: 'ct' } });
      const int8 = join(dir, 'vit_b_int8');
      if (only.some((c) => c.startsWith('int8'))) quantizeSplitModel(fp32, int8);
      const phantom = makePhantom('ct', new Rng(7), { size: SIZE });
      for (const stride of [5, 1]) {
        const labels: Partial<Record<'fp32' | 'int8', Uint8Array>> = {};
        for (const kind of ['fp32', 'int8'] as const) {
          if (!only.includes(`${kind}_stride${stride}`)) continue;
          const what = kind === 'fp32' ? 'float32' : 'int8 encoder';
          labels[kind] = await sweep(
            kind === 'fp32' ? fp32 : int8,
            phantom.image,
            stride,
            kind === 'fp32' ? '' : 'int8_',
            what,
            metrics,
          );
        }
        if (labels.fp32 && labels.int8) {
          metrics.push({
            name: `int8_voxels_changed_vit_b_stride${stride}`,
            value: 100 * changedShare(labels.fp32, labels.int8),
            unit: '%',
            note: `voxels whose stride-${stride} label differs between float32 and int8 (random ViT-B weights: many near-ties)`,
          });
        }
      }
      if (only.includes('edit')) {
        await promptEdit(
          model,
          dir,
          phantom.image,
          labelBox(phantom.label, phantom.labels['liver']!),
          metrics,
        );
      }
    }
    if (only.includes('dice')) await int8Dice(dir, metrics);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  // Metrics not rerun keep the date they were measured on (a later partial run must not pass them as its own).
  const kept = (previous?.metrics ?? [])
    .filter((m) => !metrics.some((n) => n.name === m.name))
    .map((m) =>
      m.note?.includes('measured 20')
        ? m
        : { ...m, note: `${m.note ?? ''} (measured ${previous!.machine.date})` },
    );
  return {
    metrics: [...kept, ...metrics],
    notes: [
      'Random ViT-B weights for speed (it does not depend on them); ORT CPU, all cores; one run each; split model (encoder once per stack, decoder per slice image), batch 1.',
      'int8: per-output-channel int8 weights of the encoder MatMuls (onnx/quantize.ts), activations quantized dynamically by ORT.',
      ...(only.length < CASES.length && previous
        ? ['Metrics not rerun this time are kept from earlier runs, each with the date it was measured.']
        : []),
    ],
  };
}
