// `masam phantom --out <dir> --modality ct|mri|video`: writes a synthetic dataset in the MSD / nnU-Net v2
// layout (dataset.json, imagesTr/, labelsTr/, imagesTs/, labelsTs/) from data/phantom.ts as .nii.gz files,
// each written atomically. Refuses a non-empty folder unless --force.
import { mkdir, readdir, stat, unlink } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { writeFileAtomic } from '../../api/files.js';
import { type PhantomModality, phantomDataset } from '../../data/phantom.js';
import { type Command, UsageError, parseCommandArgs, withExamples } from '../command.js';
import { writeVolumeAtomic } from '../volume_files.js';

const USAGE = withExamples(
  [
    'Usage: masam phantom --out <dir> --modality ct|mri|video [--cases N] [--test M] [--seed S]',
    '                     [--size WxHxD] [--force]',
    '',
    'Writes a synthetic dataset in the nnU-Net v2 / MSD layout, deterministic from the seed:',
    '  dataset.json, imagesTr/{CASE}_{XXXX}.nii.gz, labelsTr/{CASE}.nii.gz, imagesTs/…, labelsTs/…',
    'CT: int16 HU with the 13 BTCV organ labels. MRI: int16 T2 with prostate zones. Video: uint8 RGB',
    'frames (one file per colour channel, _0000 … _0002) with instrument labels.',
    '',
    'Options:',
    '  --cases N       training cases (default 4)',
    '  --test M        test cases, labels in labelsTs/ (default 1)',
    '  --seed S        seed (default 0)',
    '  --size WxHxD    voxels, D = frames for video (default CT 128x128x32, MRI 96x96x20, video 64x64x16)',
    '  --force         write into a non-empty folder: dataset.json and the .nii/.nii.gz files of',
    '                  imagesTr/, labelsTr/, imagesTs/, labelsTs/ are replaced, other files are kept',
  ].join('\n'),
  [
    'masam phantom --out data/phantom-ct --modality ct --cases 8 --test 2 --seed 7',
    'masam phantom --out data/phantom-video --modality video --size 64x64x16',
  ],
);

const MODALITIES: readonly PhantomModality[] = ['ct', 'mri', 'video'];
const LAYOUT = ['imagesTr', 'labelsTr', 'imagesTs', 'labelsTs'] as const;

function parse(args: string[]) {
  return parseCommandArgs({
    args,
    options: {
      out: { type: 'string' },
      modality: { type: 'string' },
      cases: { type: 'string', default: '4' },
      test: { type: 'string', default: '1' },
      seed: { type: 'string', default: '0' },
      size: { type: 'string' },
      force: { type: 'boolean', default: false },
    },
    allowPositionals: false,
    strict: true,
  });
}

function count(text: string, flag: string): number {
  const n = Number(text);
  if (!/^\d+$/.test(text.trim()) || !Number.isSafeInteger(n)) {
    throw new UsageError(`${flag} must be a non-negative integer, got '${text}'`);
  }
  return n;
}

/** `WxHxD` (or `W×H×D`) as [nx, ny, nz]; every size a positive integer. */
export function parseSize(text: string): [number, number, number] {
  const parts = text.split(/[x×]/i).map((s) => s.trim());
  if (parts.length !== 3 || !parts.every((s) => /^[1-9]\d*$/.test(s))) {
    throw new UsageError(`--size must be WxHxD with positive integers (e.g. 128x128x32), got '${text}'`);
  }
  return parts.map(Number) as [number, number, number];
}

/** Names in `dir` other than hidden ones; empty when the folder does not exist. */
async function visibleEntries(dir: string): Promise<string[]> {
  try {
    return (await readdir(dir)).filter((n) => !n.startsWith('.'));
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw err;
  }
}

/** The `phantom` subcommand (listed in main.ts). */
export const phantom: Command = {
  name: 'phantom',
  summary: 'write a synthetic CT / MRI / video dataset in the nnU-Net v2 layout',
  usage: USAGE,
  async run(args: string[]): Promise<number> {
    const parsed = parse(args);
    const { values } = parsed;
    if (values.out === undefined) throw new UsageError('--out is required');
    if (values.modality === undefined) throw new UsageError('--modality is required (ct, mri or video)');
    const modality = values.modality.toLowerCase() as PhantomModality;
    if (!MODALITIES.includes(modality)) {
      throw new UsageError(`--modality must be ct, mri or video, got '${values.modality}'`);
    }
    const numTraining = count(values.cases, '--cases');
    const numTest = count(values.test, '--test');
    const seed = count(values.seed, '--seed');
    const size = values.size === undefined ? undefined : parseSize(values.size);
    const out = values.out;
    const info = await stat(out).catch(() => undefined);
    if (info && !info.isDirectory()) throw new UsageError(`--out '${out}' exists and is not a folder`);
    const existing = await visibleEntries(out);
    if (existing.length > 0 && !values.force) {
      throw new UsageError(
        `--out '${out}' is not empty (${existing.slice(0, 5).join(', ')}${existing.length > 5 ? ', …' : ''}); pass --force to replace the dataset there`,
      );
    }
    const dataset = phantomDataset({ modality, numTraining, numTest, seed, ...(size ? { size } : {}) });
    // --force: NIfTI files of an earlier dataset that this one does not rewrite would break its layout.
    const written = new Set(dataset.files.map((f) => f.path));
    let removed = 0;
    if (values.force) {
      for (const sub of LAYOUT) {
        for (const name of await visibleEntries(join(out, sub))) {
          const path = `${sub}/${name}`;
          if (/\.nii(\.gz)?$/i.test(name) && !written.has(path)) {
            await unlink(join(out, sub, name));
            removed++;
          }
        }
      }
    }
    await mkdir(out, { recursive: true });
    for (const sub of LAYOUT) await mkdir(join(out, sub), { recursive: true });
    const perFolder = new Map<string, number>();
    for (const f of dataset.files) {
      const path = join(out, f.path);
      await mkdir(dirname(path), { recursive: true });
      await writeVolumeAtomic(path, f.volume);
      const folder = f.path.split('/')[0]!;
      perFolder.set(folder, (perFolder.get(folder) ?? 0) + 1);
    }
    const json = `${JSON.stringify(dataset.datasetJson, null, 2)}\n`;
    await writeFileAtomic(join(out, 'dataset.json'), new TextEncoder().encode(json));
    const first = dataset.files[0]?.volume;
    const shape = first
      ? `${first.shape.join('×')} ${first.dtype}, ${first.spacing.map((s) => Number(s.toPrecision(4))).join('×')} mm`
      : 'no cases';
    console.log(
      `wrote ${out}: ${modality} phantom dataset, ${numTraining} training + ${numTest} test case(s), seed ${seed} (${shape})`,
    );
    console.log('  dataset.json');
    for (const sub of LAYOUT) console.log(`  ${`${sub}/`.padEnd(10)} ${perFolder.get(sub) ?? 0} file(s)`);
    if (removed > 0) console.log(`  removed ${removed} NIfTI file(s) of the earlier dataset`);
    return 0;
  },
};
