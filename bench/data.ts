// Data benchmark (issue 4): (a) one 512×512×200 int16 CT phantom as .nii.gz on disk — read (file read,
// gunzip, NIfTI parse), then the CT preprocessing of every slice as the official reader sees it (the
// 5-slice stack around it, HU window, z-score, per-stack min-max); (b) building a small phantom dataset.
import { mkdtempSync, rmSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Rng } from '../src/core/rng.js';
import { normalizeCtStack } from '../src/data/intensity.js';
import { makePhantom, phantomDataset } from '../src/data/phantom.js';
import { extractStack } from '../src/data/slices.js';
import { parseNifti, serializeNifti } from '../src/io/nifti.js';
import type { BenchMetric, BenchResult } from './bench_result.js';

const SIZE: [number, number, number] = [512, 512, 200];
const DATASET = { modality: 'ct', numTraining: 4, numTest: 0, size: [128, 128, 48], seed: 0 } as const;
const MB = 1e6;

function seconds(t0: number): number {
  return (performance.now() - t0) / 1000;
}

/** (a) A 512×512×200 CT volume: generate and write once, then time reading it and preprocessing every slice. */
async function volumeBench(dir: string): Promise<{ metrics: BenchMetric[]; notes: string[] }> {
  let t0 = performance.now();
  const { image } = makePhantom('ct', new Rng(0), { size: SIZE });
  const generateS = seconds(t0);
  const rawBytes = image.data.byteLength;
  t0 = performance.now();
  const gz = serializeNifti(image, { gzip: true });
  const path = join(dir, 'ct_512x512x200.nii.gz');
  await writeFile(path, gz);
  const writeS = seconds(t0);

  t0 = performance.now();
  const volume = parseNifti(await readFile(path), path);
  const readS = seconds(t0);
  if (volume.dtype !== 'int16' || volume.data.length !== image.data.length) {
    throw new Error(
      `read back ${volume.dtype} [${volume.shape.join(', ')}], expected int16 [${SIZE.join(', ')}]`,
    );
  }

  const nz = SIZE[2];
  let checksum = 0;
  t0 = performance.now();
  for (let z = 0; z < nz; z++) {
    const stack = extractStack(volume, z); // [5, H, W], official orientation
    const normalized = normalizeCtStack(stack.data);
    checksum += normalized[normalized.length >> 1]!;
  }
  const prepS = seconds(t0);
  const metrics: BenchMetric[] = [
    {
      name: 'ct512_read_s',
      value: readS,
      unit: 's',
      note: `readFile + gunzip + NIfTI parse of ${(gz.length / MB).toFixed(1)} MB .nii.gz → ${(rawBytes / MB).toFixed(1)} MB int16; one run`,
    },
    {
      name: 'ct512_read_mb_s',
      value: rawBytes / MB / readS,
      unit: 'MB/s',
      note: 'uncompressed voxel bytes / read seconds',
    },
    {
      name: 'ct512_preprocess_s',
      value: prepS,
      unit: 's',
      note: `${nz} stacks: extractStack (5 slices, official orientation) + normalizeCtStack; one run`,
    },
    {
      name: 'ct512_preprocess_mb_s',
      value: rawBytes / MB / prepS,
      unit: 'MB/s',
      note: 'volume int16 bytes / preprocessing seconds (each slice enters 5 stacks)',
    },
    {
      name: 'ct512_stacks_per_s',
      value: nz / prepS,
      unit: 'stacks/s',
      note: '5×512×512 float32 stacks ready for the model (before channel repeat)',
    },
    {
      name: 'ct512_read_and_preprocess_s',
      value: readS + prepS,
      unit: 's',
      note: 'read + preprocessing: what one CT case costs before the model',
    },
    {
      name: 'ct512_write_s',
      value: writeS,
      unit: 's',
      note: 'serializeNifti with gzip + writeFile (setup, timed once)',
    },
  ];
  const notes = [
    `(a) volume: makePhantom('ct', seed 0) at 512×512×200 (a real phantom, not a faster synthetic; generating it took ${generateS.toFixed(1)} s and is not part of the timings). Checksum ${checksum.toFixed(3)}.`,
  ];
  return { metrics, notes };
}

/** (b) phantomDataset: 4 CT cases of 128×128×48 built in memory (no files). */
function datasetBench(): BenchMetric[] {
  const t0 = performance.now();
  const ds = phantomDataset(DATASET);
  const buildS = seconds(t0);
  const t1 = performance.now();
  let bytes = 0;
  for (const f of ds.files) bytes += serializeNifti(f.volume, { gzip: true }).length;
  const serializeS = seconds(t1);
  return [
    {
      name: 'phantom_dataset_build_s',
      value: buildS,
      unit: 's',
      note: `phantomDataset: ${DATASET.numTraining} CT cases of ${DATASET.size.join('×')} (image + label), in memory; one run`,
    },
    {
      name: 'phantom_dataset_serialize_s',
      value: serializeS,
      unit: 's',
      note: `its ${ds.files.length} volumes as .nii.gz bytes (${(bytes / MB).toFixed(1)} MB), as \`masam phantom\` writes them`,
    },
  ];
}

/** Runs the data benchmark (`npm run bench -- data`). */
export async function runDataBench(): Promise<BenchResult> {
  const dir = mkdtempSync(join(tmpdir(), 'masam-bench-data-'));
  try {
    const a = await volumeBench(dir);
    const b = datasetBench();
    return {
      metrics: [...a.metrics, ...b],
      notes: [
        ...a.notes,
        'Single-threaded JavaScript; every timing is one run (the volume is large), so expect a few % noise.',
      ],
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
