// The dataset integrity check of `masam info <dataset>` and `masam train --check`, after nnU-Net v2's
// --verify_dataset_integrity: every case has all its channels, image and label grids (shape) and affines
// agree, labels are integer-valued and among dataset.json's labels, no NaN/Inf voxels; each problem names
// its file. The same pass summarises the dataset (cases, classes, channels, shapes, spacing, intensities).
// Pure: volumes come through a `read` callback (the CLI passes its file reader), one case at a time.
import { type CaseFiles, DatasetError, type DatasetInfo, type DatasetListing, listCases } from './dataset.js';
import type { Affine, Volume } from '../io/volume.js';

/** One problem found, with the file it concerns (relative to the dataset folder; '' for the layout). */
export interface DatasetProblem {
  readonly file: string;
  readonly problem: string;
}

/** Smallest and largest value per axis. */
export interface AxisRange {
  readonly min: readonly number[];
  readonly max: readonly number[];
}

/** What the dataset holds, from the volumes that could be read. */
export interface DatasetSummary {
  readonly name?: string;
  readonly channels: readonly string[];
  /** Class name → label value, as in dataset.json. */
  readonly classes: Readonly<Record<string, number>>;
  /** Labelled training cases. */
  readonly cases: number;
  /** Test images in imagesTs (files, all channels counted once per case when named {CASE}_{XXXX}). */
  readonly testCases: number;
  /** Spatial shapes [nx, ny, nz], smallest and largest per axis; null when no case was read. */
  readonly shape: AxisRange | null;
  /** Voxel spacing in mm, smallest and largest per axis; null when no case was read. */
  readonly spacing: AxisRange | null;
  /** Finite intensity range per channel; null for a channel without a finite voxel. */
  readonly intensity: readonly (readonly [number, number] | null)[];
  /** Class name → number of cases whose label holds it (background included). */
  readonly casesWithClass: Readonly<Record<string, number>>;
}

/** The outcome of {@link checkDataset}: problems (none when the dataset is fine) and the summary. */
export interface DatasetCheck {
  readonly problems: readonly DatasetProblem[];
  readonly summary: DatasetSummary;
}

export interface DatasetCheckOptions {
  /** Allowed affine difference, relative: |a − b| ≤ tol·(1 + max(|a|, |b|)); default 1e-4. */
  readonly affineTolerance?: number;
  /** Called after each case is checked (for progress). */
  readonly onCase?: (done: number, total: number) => void;
}

/** A dataset folder's listing; imagesTs only counts test cases. */
export interface DatasetCheckListing extends DatasetListing {
  readonly imagesTs?: readonly string[];
}

/** Reads a file of the dataset, given its path relative to the dataset folder (e.g. 'imagesTr/a_0000.nii.gz'). */
export type DatasetFileReader = (relativePath: string) => Promise<Volume>;

const spatial = (shape: readonly number[]): number[] => [shape[0] ?? 1, shape[1] ?? 1, shape[2] ?? 1];
const dims = (s: readonly number[]) => s.join('×');

/** Count, first value and finite range of data[offset .. offset + length). */
function scan(
  data: Volume['data'],
  offset: number,
  length: number,
): { nonFinite: number; firstNonFinite: number; min: number; max: number } {
  let nonFinite = 0;
  let firstNonFinite = 0;
  let min = Number.POSITIVE_INFINITY;
  let max = Number.NEGATIVE_INFINITY;
  for (let i = offset; i < offset + length; i++) {
    const v = Number(data[i]);
    if (!Number.isFinite(v)) {
      if (nonFinite++ === 0) firstNonFinite = v;
      continue;
    }
    if (v < min) min = v;
    if (v > max) max = v;
  }
  return { nonFinite, firstNonFinite, min, max };
}

/** Where two affines differ most, relative to their size. */
function affineDifference(a: Affine, b: Affine): { excess: number; r: number; c: number } {
  let worst = { excess: 0, r: 0, c: 0 };
  for (let r = 0; r < 3; r++) {
    for (let c = 0; c < 4; c++) {
      const x = a[r]![c]!;
      const y = b[r]![c]!;
      const excess = Number.isFinite(x - y)
        ? Math.abs(x - y) / (1 + Math.max(Math.abs(x), Math.abs(y)))
        : Number.POSITIVE_INFINITY;
      if (excess > worst.excess) worst = { excess, r, c };
    }
  }
  return worst;
}

/** Label value → voxel count, with the voxels that are not integers (NaN and Inf included) counted apart. */
function labelHistogram(label: Volume): { counts: Map<number, number>; nonInteger: number; example: number } {
  const counts = new Map<number, number>();
  const table = new Float64Array(256); // small non-negative integers, the usual case
  let nonInteger = 0;
  let example = 0;
  const data = label.data;
  for (let i = 0; i < data.length; i++) {
    const v = Number(data[i]);
    if (Number.isInteger(v) && v >= 0 && v < 256) table[v]!++;
    else if (Number.isInteger(v)) counts.set(v, (counts.get(v) ?? 0) + 1);
    else if (nonInteger++ === 0) example = v;
  }
  table.forEach((n, v) => {
    if (n > 0) counts.set(v, n);
  });
  return { counts, nonInteger, example };
}

/** Statistics of one case, gathered while it is checked. */
interface CaseStats {
  readonly shape: readonly number[];
  readonly spacing: readonly number[];
  /** Finite range per channel (null: no finite voxel). */
  readonly intensity: readonly ([number, number] | null)[];
  readonly labelValues: ReadonlySet<number>;
}

/**
 * Checks one case's volumes: `images` are its channel files in order (one file with the channels on a
 * 4th axis for MSD's multi-channel images), `label` its label file.
 * @returns the problems, each naming its file, and the case's statistics
 */
export function checkCaseVolumes(
  files: CaseFiles,
  images: readonly Volume[],
  label: Volume,
  info: Pick<DatasetInfo, 'channels' | 'labels'>,
  options: Pick<DatasetCheckOptions, 'affineTolerance'> = {},
): { problems: DatasetProblem[]; stats: CaseStats } {
  const tol = options.affineTolerance ?? 1e-4;
  const problems: DatasetProblem[] = [];
  const labelFile = files.label ?? `labelsTr/${files.id}`;
  const say = (file: string, problem: string) => problems.push({ file, problem });
  const labelShape = spatial(label.shape);

  if (label.shape.length > 3 && label.shape.slice(3).some((d) => d !== 1)) {
    say(labelFile, `label has shape [${label.shape.join(', ')}], expected a 3D volume`);
  }
  if (labelShape[2]! < 2) {
    say(labelFile, `one slice [${label.shape.join(', ')}]: MA-SAM trains on 3D volumes (stacks of slices)`);
  }
  const badSpacing = label.spacing.slice(0, 3).filter((s) => !(Number.isFinite(s) && s > 0));
  if (badSpacing.length > 0) say(labelFile, `voxel spacing [${label.spacing.join(', ')}] is not positive`);

  const intensity: ([number, number] | null)[] = [];
  const channelsInFiles = images.reduce((n, img) => n + (img.shape[3] ?? 1), 0);
  if (images.length === 1 && channelsInFiles !== info.channels.length) {
    say(
      files.images[0]!,
      `holds ${channelsInFiles} channel(s) [${images[0]!.shape.join(', ')}], dataset.json declares ` +
        `${info.channels.length} (${info.channels.join(', ')})`,
    );
  }
  images.forEach((img, f) => {
    const file = files.images[f]!;
    if (images.length > 1 && (img.shape[3] ?? 1) > 1) {
      say(file, `holds ${img.shape[3]} volumes [${img.shape.join(', ')}]: each channel file must be 3D`);
    }
    if (dims(spatial(img.shape)) !== dims(labelShape)) {
      say(
        file,
        `shape ${dims(spatial(img.shape))} differs from its label ${labelFile} (${dims(labelShape)})`,
      );
    }
    const worst = affineDifference(img.affine, label.affine);
    if (worst.excess > tol) {
      const { r, c } = worst;
      say(
        file,
        `affine differs from its label ${labelFile}: entry [${r}][${c}] is ${img.affine[r]![c]} vs ${label.affine[r]![c]}`,
      );
    }
    const plane = spatial(img.shape).reduce((a, b) => a * b, 1);
    const nc = img.shape[3] ?? 1;
    for (let ch = 0; ch < nc; ch++) {
      const s = scan(img.data, ch * plane, plane);
      const where = nc > 1 ? ` in channel ${ch}` : '';
      if (s.nonFinite > 0) {
        say(file, `${s.nonFinite} voxel(s)${where} are not finite (${s.firstNonFinite}, …)`);
      }
      intensity.push(s.min <= s.max ? [s.min, s.max] : null);
    }
  });

  const { counts, nonInteger, example } = labelHistogram(label);
  if (nonInteger > 0) {
    say(labelFile, `${nonInteger} voxel(s) are not integer label values (${example}, …)`);
  }
  const allowed = new Set(Object.values(info.labels));
  const unknown = [...counts.keys()].filter((v) => !allowed.has(v)).sort((a, b) => a - b);
  if (unknown.length > 0) {
    const names = Object.entries(info.labels)
      .map(([n, v]) => `${v} ${n}`)
      .join(', ');
    say(
      labelFile,
      `label value(s) ${unknown.slice(0, 10).join(', ')}${unknown.length > 10 ? ', …' : ''} are not in ` +
        `dataset.json's labels (${names})`,
    );
  }
  return {
    problems,
    stats: {
      shape: labelShape,
      spacing: spatial(label.spacing),
      intensity,
      labelValues: new Set(counts.keys()),
    },
  };
}

/** Per-axis min and max, grown one vector at a time. */
class RangeAccumulator {
  min: number[] | null = null;
  max: number[] | null = null;
  add(v: readonly number[]): void {
    this.min = this.min ? this.min.map((m, a) => Math.min(m, v[a]!)) : [...v];
    this.max = this.max ? this.max.map((m, a) => Math.max(m, v[a]!)) : [...v];
  }
  result(): AxisRange | null {
    return this.min && this.max ? { min: this.min, max: this.max } : null;
  }
}

/** Test cases in imagesTs: files named {CASE}_{XXXX}{ending} count once per case, others once each. */
function countTestCases(names: readonly string[], ending: string): number {
  const ids = new Set<string>();
  for (const n of names) {
    if (n.startsWith('.') || !n.endsWith(ending)) continue;
    const stem = n.slice(0, -ending.length);
    ids.add(/^(.+)_\d{4}$/.exec(stem)?.[1] ?? stem);
  }
  return ids.size;
}

/**
 * Checks a whole dataset: its file layout (listCases: every channel file and label present), then each
 * case's volumes (checkCaseVolumes), read one case at a time through `read`. A file that cannot be read
 * is a problem naming it; the check goes on with the other cases.
 */
export async function checkDataset(
  info: DatasetInfo,
  listing: DatasetCheckListing,
  read: DatasetFileReader,
  options: DatasetCheckOptions = {},
): Promise<DatasetCheck> {
  const problems: DatasetProblem[] = [];
  let cases: CaseFiles[] = [];
  try {
    cases = listCases(info, listing).filter((c) => c.label !== null);
  } catch (err) {
    if (!(err instanceof DatasetError)) throw err;
    for (const p of err.problems) problems.push({ file: '', problem: p });
    problems.push({ file: '', problem: 'volumes were not checked: fix the file layout first' });
  }
  const shape = new RangeAccumulator();
  const spacing = new RangeAccumulator();
  const intensity: ([number, number] | null)[] = info.channels.map(() => null);
  const casesWithValue = new Map<number, number>();
  const inFolder = (dir: string, f: string) => (f.includes('/') ? f : `${dir}/${f}`);
  for (const [n, c] of cases.entries()) {
    const files: CaseFiles = {
      id: c.id,
      images: c.images.map((f) => inFolder('imagesTr', f)),
      label: inFolder('labelsTr', c.label!),
    };
    const readOne = async (file: string): Promise<Volume | null> => {
      try {
        return await read(file);
      } catch (err) {
        problems.push({ file, problem: `cannot be read: ${(err as Error).message}` });
        return null;
      }
    };
    const images: (Volume | null)[] = [];
    for (const f of files.images) images.push(await readOne(f));
    const label = await readOne(files.label!);
    if (label !== null && images.every((v) => v !== null)) {
      const result = checkCaseVolumes(files, images as Volume[], label, info, options);
      problems.push(...result.problems);
      shape.add(result.stats.shape);
      spacing.add(result.stats.spacing);
      result.stats.intensity.forEach((r, ch) => {
        if (r === null || ch >= intensity.length) return;
        const cur = intensity[ch];
        intensity[ch] = cur ? [Math.min(cur[0], r[0]), Math.max(cur[1], r[1])] : r;
      });
      for (const v of result.stats.labelValues) casesWithValue.set(v, (casesWithValue.get(v) ?? 0) + 1);
    }
    options.onCase?.(n + 1, cases.length);
  }
  return {
    problems,
    summary: {
      ...(info.name !== undefined ? { name: info.name } : {}),
      channels: info.channels,
      classes: info.labels,
      cases: cases.length,
      testCases: countTestCases(listing.imagesTs ?? [], info.fileEnding),
      shape: shape.result(),
      spacing: spacing.result(),
      intensity,
      casesWithClass: Object.fromEntries(
        Object.entries(info.labels).map(([name, v]) => [name, casesWithValue.get(v) ?? 0]),
      ),
    },
  };
}

/** Up to 4 significant digits, without trailing zeros. */
const num = (x: number): string => String(Number(x.toPrecision(4)));

/** 'in 1 case', 'in 3 cases'. */
const cases = (n: number): string => `in ${n} case${n === 1 ? '' : 's'}`;

/** A problem as one line: `file: problem` (or the problem alone for the layout). */
export function formatDatasetProblem(p: DatasetProblem): string {
  return p.file === '' ? p.problem : `${p.file}: ${p.problem}`;
}

/** The human-readable summary and verdict of a check of the dataset at `root`. */
export function formatDatasetCheck(check: DatasetCheck, root: string): string {
  const s = check.summary;
  const range = (r: AxisRange | null, unit = '') => {
    if (r === null) return 'unknown (no case read)';
    const same = r.min.every((m, a) => m === r.max[a]);
    const fmt = (v: readonly number[]) => v.map(num).join(' × ');
    return same ? `${fmt(r.min)}${unit} (all cases)` : `${fmt(r.min)}${unit} to ${fmt(r.max)}${unit}`;
  };
  const lines = [
    `path         ${root}`,
    `format       MSD / nnU-Net dataset${s.name !== undefined ? ` '${s.name}'` : ''}`,
    `cases        ${s.cases} labelled (imagesTr + labelsTr), ${s.testCases} test (imagesTs)`,
    `channels     ${s.channels.map((c, i) => `${i} ${c}`).join(', ')}`,
    `classes      ${Object.entries(s.classes)
      .map(([n, v]) => `${v} ${n} (${cases(s.casesWithClass[n] ?? 0)})`)
      .join(', ')}`,
    `shape        ${range(s.shape)} voxels`,
    `spacing      ${range(s.spacing, ' mm')}`,
    ...s.intensity.map(
      (r, ch) =>
        `intensity    ${s.channels[ch] ?? `channel ${ch}`}: ${r === null ? 'no finite voxel' : `${num(r[0])} to ${num(r[1])}`}`,
    ),
  ];
  if (check.problems.length === 0) lines.push('check        OK: no problem found');
  else {
    lines.push(`check        ${check.problems.length} problem(s):`);
    for (const p of check.problems) lines.push(`  ${formatDatasetProblem(p)}`);
  }
  return lines.join('\n');
}
