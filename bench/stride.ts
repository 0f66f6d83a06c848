// Stride benchmark: the bundled demo MA-SAM (models/demo/model.onnx) segments phantom CT cases it never
// trained on with the official overlapping sweep (stride 1) and with non-overlapping stacks (stride D = 5),
// through the same code as `masam segment`; reports Dice per organ at both strides against the phantom
// labels, the per-case Dice difference, how many voxels change label, and seconds per volume.
import { BUNDLED_MODEL } from '../src/cli/commands/demo.js';
import { openModel } from '../src/cli/model_files.js';
import { Rng } from '../src/core/index.js';
import { makePhantom } from '../src/data/phantom.js';
import { segmentVolume } from '../src/infer/segment.js';
import { dicePerClass } from '../src/metrics/index.js';
import type { BenchMetric, BenchResult } from './bench_result.js';

/** Test cases: `makePhantom('ct', new Rng(seed), { size })`, as `masam demo --seed 42` makes its case. */
const SEEDS = [42, 43, 44, 45, 46, 47, 48, 49];
const SIZE: readonly [number, number, number] = [128, 128, 48];
/** The demo model's training data: `masam phantom --cases 16 --test 1 --seed 7 --size 128x128x48`. */
const TRAIN_SEED = 7;
const TRAIN_CASES = 16 + 1;

/** Seeds of the cases `phantomDataset({ seed })` draws: case i comes from `new Rng(rng.nextUint32())`. */
function datasetCaseSeeds(seed: number, count: number): Set<number> {
  const rng = new Rng(seed);
  return new Set(Array.from({ length: count }, () => rng.nextUint32()));
}

const mean = (xs: readonly number[]): number => xs.reduce((a, b) => a + b, 0) / xs.length;

function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 === 1 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

export async function runStrideBench(): Promise<BenchResult> {
  const trained = datasetCaseSeeds(TRAIN_SEED, TRAIN_CASES);
  const reused = SEEDS.filter((s) => trained.has(s >>> 0));
  if (reused.length > 0) throw new Error(`stride bench: seeds ${reused.join(', ')} are training cases`);

  const model = await openModel(BUNDLED_MODEL);
  try {
    const { info } = model;
    const depth = info.slices;
    const strides = [1, depth] as const;
    const classes = info.classNames.length - 1;
    const organs = info.classNames.slice(1);
    const cases = SEEDS.map((seed) => ({ seed, phantom: makePhantom('ct', new Rng(seed), { size: SIZE }) }));
    const phantomLabels = cases[0]!.phantom.labels;
    for (const [i, name] of info.classNames.entries()) {
      if (phantomLabels[name] !== i)
        throw new Error(`stride bench: model class ${i} '${name}' ≠ phantom label`);
    }
    for (const { seed, phantom } of cases) {
      const present = new Set(phantom.label.data);
      const missing = organs.filter((_, o) => !present.has(o + 1));
      if (missing.length > 0) throw new Error(`stride bench: seed ${seed} lacks ${missing.join(', ')}`);
    }

    // Warm-up (session start-up, first-run allocations), untimed and unscored.
    await segmentVolume(cases[0]!.phantom.image, model.model, { stride: depth });

    const dice: Record<number, number[][]> = { [strides[0]]: [], [strides[1]]: [] }; // [case][organ]
    const seconds: Record<number, number[]> = { [strides[0]]: [], [strides[1]]: [] };
    const stacks: Record<number, number> = {};
    const changed: number[] = [];
    const changedForeground: number[] = [];
    for (const [n, { seed, phantom }] of cases.entries()) {
      // Alternate which stride runs first so neither gets a systematically warmer machine.
      const order = n % 2 === 0 ? [...strides] : [...strides].reverse();
      const labels: Record<number, Uint8Array> = {};
      for (const stride of order) {
        const r = await segmentVolume(phantom.image, model.model, { stride });
        labels[stride] = r.labels.data;
        seconds[stride]!.push(r.seconds);
        stacks[stride] = r.stacks;
        dice[stride]!.push(dicePerClass(r.labels, phantom.label, classes));
      }
      const a = labels[strides[0]]!;
      const b = labels[strides[1]]!;
      let differ = 0;
      let foreground = 0;
      for (let p = 0; p < a.length; p++) {
        if (a[p] !== 0 || b[p] !== 0) foreground++;
        if (a[p] !== b[p]) differ++;
      }
      changed.push(differ / a.length);
      changedForeground.push(differ / foreground);
      const m1 = mean(dice[strides[0]]!.at(-1)!);
      const m5 = mean(dice[strides[1]]!.at(-1)!);
      process.stderr.write(
        `seed ${seed}: Dice stride 1 ${m1.toFixed(4)}, stride ${depth} ${m5.toFixed(4)}; ` +
          `${seconds[strides[0]]!.at(-1)!.toFixed(2)} s / ${seconds[strides[1]]!.at(-1)!.toFixed(2)} s; ` +
          `${(100 * changed.at(-1)!).toFixed(3)} % voxels differ\n`,
      );
    }

    const organMean = (stride: number, o: number) => mean(dice[stride]!.map((c) => c[o]!));
    const caseMeans = (stride: number) => dice[stride]!.map((c) => mean(c));
    const caseDiff = caseMeans(strides[1]).map((d, i) => d - caseMeans(strides[0])[i]!);
    const organDiffs = dice[strides[1]]!.flatMap((c, i) => c.map((d, o) => d - dice[strides[0]]![i]![o]!));
    const n = SEEDS.length;
    const metrics: BenchMetric[] = [];
    for (const stride of strides) {
      metrics.push({
        name: `dice_mean_stride${stride}`,
        value: mean(caseMeans(stride)),
        unit: 'Dice',
        note: `mean over ${n} cases of the mean over ${classes} organs`,
      });
    }
    metrics.push(
      {
        name: 'dice_case_diff_mean',
        value: mean(caseDiff),
        unit: 'Dice',
        note: `mean over cases of (organ-mean Dice at stride ${depth} − at stride 1), signed`,
      },
      {
        name: 'dice_case_absdiff_mean',
        value: mean(caseDiff.map(Math.abs)),
        unit: 'Dice',
        note: `mean over cases of abs(organ-mean Dice at stride ${depth} − at stride 1)`,
      },
      {
        name: 'dice_case_absdiff_max',
        value: Math.max(...caseDiff.map(Math.abs)),
        unit: 'Dice',
        note: `largest abs(organ-mean Dice at stride ${depth} − at stride 1) over the ${n} cases`,
      },
      {
        name: 'dice_organ_case_absdiff_max',
        value: Math.max(...organDiffs.map(Math.abs)),
        unit: 'Dice',
        note: `largest abs(Dice at stride ${depth} − at stride 1) of one organ in one case (${n}×${classes} pairs)`,
      },
      {
        name: 'voxels_changed',
        value: 100 * mean(changed),
        unit: '%',
        note: `voxels whose label differs between stride 1 and stride ${depth}, mean over cases (max ${(100 * Math.max(...changed)).toFixed(3)} %)`,
      },
      {
        name: 'voxels_changed_foreground',
        value: 100 * mean(changedForeground),
        unit: '%',
        note: 'the same, as a share of voxels labelled foreground at either stride',
      },
    );
    for (const stride of strides) {
      const t = seconds[stride]!;
      metrics.push({
        name: `stride${stride}_volume_s`,
        value: median(t),
        unit: 's',
        note: `median over ${n} cases of segmentVolume wall time, ${stacks[stride]} stacks of ${depth}×${info.imageSize}² (mean ${mean(t).toFixed(2)}, min ${Math.min(...t).toFixed(2)}, max ${Math.max(...t).toFixed(2)})`,
      });
    }
    const ratios = seconds[strides[0]]!.map((t, i) => t / seconds[strides[1]]![i]!);
    metrics.push({
      name: 'speedup',
      value: median(ratios),
      unit: '×',
      note: `median over cases of (stride-1 s / stride-${depth} s of the same case, run back to back; range ${Math.min(...ratios).toFixed(2)}–${Math.max(...ratios).toFixed(2)}); stack count ratio ${(stacks[strides[0]]! / stacks[strides[1]]!).toFixed(2)}`,
    });
    for (const [o, organ] of organs.entries()) {
      for (const stride of strides) {
        const diff = organMean(strides[1], o) - organMean(strides[0], o);
        metrics.push({
          name: `dice_${organ}_stride${stride}`,
          value: organMean(stride, o),
          unit: 'Dice',
          note:
            stride === strides[0]
              ? `mean over ${n} cases`
              : `mean over ${n} cases; ${diff >= 0 ? '+' : '−'}${Math.abs(diff).toFixed(4)} vs stride 1`,
        });
      }
    }
    return {
      metrics,
      notes: [
        `Model: the bundled demo MA-SAM (${BUNDLED_MODEL.split('/').slice(-3).join('/')}; D = ${depth} slices, S = ${info.imageSize}, ${classes} organs), trained on \`masam phantom --cases 16 --test 1 --seed ${TRAIN_SEED} --size 128x128x48\`.`,
        `Test cases: ${n} CT phantoms ${SIZE.join('×')} made as \`masam demo --seed S\` makes its case (\`makePhantom('ct', new Rng(S))\`), S = ${SEEDS.join(', ')}; the training dataset's cases come from \`new Rng(Rng(${TRAIN_SEED}).nextUint32())\`, and the bench checks that none of these seeds is the seed of one of those ${TRAIN_CASES} cases.`,
        `Each case is segmented by segmentVolume (the code of \`masam segment\`) at stride 1 (the official overlapping sweep: every slice is a stack centre and each slice averages up to ${depth} predictions) and at stride ${depth} (non-overlapping stacks: one prediction per slice), with the same ONNX Runtime session (CPU, all cores) and input.`,
        'Dice per organ with the official empty-mask rules (metrics/dicePerClass: absent from both → 1) against the phantom labels; "case Dice" is the mean over the 13 organs.',
        'Seconds: segmentVolume wall time (preprocessing, model, post-processing), one run per case and stride after one untimed warm-up; the stride order alternates from case to case; the median over cases resists other load on the machine, but timings still vary with it (the Dice and voxel figures are deterministic).',
        'Every organ is present in every test case (checked); organs the small demo model does not find (Dice 0 at both strides) are in the means as 0.',
      ],
    };
  } finally {
    await model.release();
  }
}
