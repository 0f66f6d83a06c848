// Datasets in the Medical Segmentation Decathlon / nnU-Net v2 layout (dataset.json, imagesTr/, labelsTr/,
// imagesTs/) as pure functions over already-read JSON, file-name lists and volumes: parse dataset.json,
// list cases, verify image/label pairs, split cases deterministically. No file system access here.
import { MasamError } from '../core/errors.js';
import { Rng } from '../core/rng.js';
import type { Volume } from '../io/volume.js';

/** A dataset that does not follow the layout; `problems` lists every issue found, each naming its case. */
export class DatasetError extends MasamError {
  override name = 'DatasetError';
  constructor(
    readonly source: string,
    readonly problems: readonly string[],
  ) {
    super(
      `${source}: ${problems.length === 1 ? problems[0] : `${problems.length} problems\n  ${problems.join('\n  ')}`}`,
    );
  }
}

/** dataset.json, normalised to one shape whichever form it was written in. */
export interface DatasetInfo {
  /** 'nnunetv2' when labels were name → value, 'msd' when value → name. */
  readonly format: 'nnunetv2' | 'msd';
  readonly name?: string;
  readonly description?: string;
  /** Channel names in channel order (`channel_names` or MSD's `modality`), e.g. ['CT']. */
  readonly channels: readonly string[];
  /** Label name → value, background (0) included. */
  readonly labels: Readonly<Record<string, number>>;
  /** File name ending of every image and label; '.nii.gz' when absent (MSD). */
  readonly fileEnding: string;
  readonly numTraining?: number;
  /** MSD's explicit training pairs, relative to the dataset folder ('./' removed). */
  readonly training?: readonly { readonly image: string; readonly label: string }[];
  /** MSD's test images, relative to the dataset folder. */
  readonly test?: readonly string[];
}

type Json = Record<string, unknown>;

const isObject = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);
const stripDot = (p: string): string => p.replace(/^\.\//, '');

/** Index → name maps ({"0": "CT"}) as an array in index order; indices must be 0..n−1. */
function indexedNames(value: unknown, key: string, problems: string[]): string[] {
  if (!isObject(value)) {
    problems.push(`'${key}' must be an object like {"0": "CT"}`);
    return [];
  }
  const entries = Object.entries(value);
  const names: string[] = [];
  for (const [k, v] of entries) {
    const i = Number(k);
    if (!Number.isInteger(i) || i < 0 || i >= entries.length || typeof v !== 'string') {
      problems.push(
        `'${key}' entry "${k}": ${JSON.stringify(v)} is not a channel index 0..${entries.length - 1} → name`,
      );
      continue;
    }
    names[i] = v;
  }
  return names;
}

/**
 * Labels in either form: nnU-Net v2 `{"background": 0, "liver": 1}` or MSD `{"0": "background",
 * "1": "liver"}`. Values must be distinct non-negative integers and include 0. nnU-Net's region lists
 * (`"tumor": [1, 2]`) are rejected: MA-SAM trains on exclusive classes.
 */
function parseLabels(value: unknown, problems: string[]): { labels: Record<string, number>; msd: boolean } {
  const labels: Record<string, number> = {};
  if (!isObject(value) || Object.keys(value).length === 0) {
    problems.push(`'labels' must be a non-empty object`);
    return { labels, msd: false };
  }
  const entries = Object.entries(value);
  const msd = entries.every(([, v]) => typeof v === 'string');
  for (const [k, v] of entries) {
    const name = msd ? (v as string) : k;
    const raw: unknown = msd ? (k.trim() === '' ? Number.NaN : Number(k)) : v;
    if (Array.isArray(raw)) {
      problems.push(`label '${name}': region-based labels (${JSON.stringify(raw)}) are not supported`);
    } else if (typeof raw !== 'number' || !Number.isInteger(raw) || raw < 0) {
      problems.push(`label '${name}': value ${JSON.stringify(msd ? k : raw)} is not a non-negative integer`);
    } else if (name in labels) {
      problems.push(`label '${name}' appears twice`);
    } else {
      labels[name] = raw;
    }
  }
  const values = Object.values(labels);
  if (new Set(values).size !== values.length)
    problems.push(`labels ${JSON.stringify(labels)} repeat a value`);
  if (values.length > 0 && !values.includes(0)) problems.push(`labels have no background value 0`);
  return { labels, msd };
}

/**
 * Parses a dataset.json object (already JSON.parse'd) in nnU-Net v2 or MSD form.
 * @throws DatasetError listing every problem
 */
export function parseDatasetJson(json: unknown, source = 'dataset.json'): DatasetInfo {
  const problems: string[] = [];
  if (!isObject(json)) throw new DatasetError(source, ['expected a JSON object']);
  const channelsRaw = json['channel_names'] ?? json['modality'];
  const channels = channelsRaw === undefined ? [] : indexedNames(channelsRaw, 'channel_names', problems);
  if (channelsRaw === undefined) problems.push(`missing 'channel_names' (nnU-Net v2) or 'modality' (MSD)`);
  const { labels, msd } = parseLabels(json['labels'], problems);
  const fileEnding = json['file_ending'] ?? '.nii.gz';
  if (typeof fileEnding !== 'string' || !fileEnding.startsWith('.')) {
    problems.push(`'file_ending' ${JSON.stringify(fileEnding)} must be a string like ".nii.gz"`);
  }
  const numTraining = json['numTraining'];
  if (numTraining !== undefined && !(Number.isInteger(numTraining) && (numTraining as number) >= 0)) {
    problems.push(`'numTraining' ${JSON.stringify(numTraining)} is not a count`);
  }
  let training: { image: string; label: string }[] | undefined;
  if (json['training'] !== undefined) {
    const list = json['training'];
    training = [];
    if (!Array.isArray(list)) problems.push(`'training' must be a list of {"image", "label"}`);
    else {
      list.forEach((e: unknown, i) => {
        if (isObject(e) && typeof e['image'] === 'string' && typeof e['label'] === 'string') {
          training!.push({ image: stripDot(e['image']), label: stripDot(e['label']) });
        } else problems.push(`'training'[${i}] is not {"image": path, "label": path}`);
      });
    }
  }
  const testRaw = json['test'];
  const test = Array.isArray(testRaw)
    ? testRaw.filter((t): t is string => typeof t === 'string').map(stripDot)
    : undefined;
  if (problems.length > 0) throw new DatasetError(source, problems);
  return {
    format: msd ? 'msd' : 'nnunetv2',
    ...(typeof json['name'] === 'string' ? { name: json['name'] } : {}),
    ...(typeof json['description'] === 'string' ? { description: json['description'] } : {}),
    channels,
    labels,
    fileEnding: fileEnding as string,
    ...(numTraining !== undefined ? { numTraining: numTraining as number } : {}),
    ...(training ? { training } : {}),
    ...(test ? { test } : {}),
  };
}

/** A dataset.json object in nnU-Net v2 form (what `masam` writes). */
export function toDatasetJson(info: {
  readonly name?: string;
  readonly description?: string;
  readonly channels: readonly string[];
  readonly labels: Readonly<Record<string, number>>;
  readonly numTraining: number;
  readonly fileEnding?: string;
}): Record<string, unknown> {
  return {
    ...(info.name !== undefined ? { name: info.name } : {}),
    ...(info.description !== undefined ? { description: info.description } : {}),
    channel_names: Object.fromEntries(info.channels.map((c, i) => [String(i), c])),
    labels: { ...info.labels },
    numTraining: info.numTraining,
    file_ending: info.fileEnding ?? '.nii.gz',
  };
}

/** One case: its image file(s) and label file, relative to the dataset folder. */
export interface CaseFiles {
  readonly id: string;
  /**
   * nnU-Net v2: one file per channel, `imagesTr/{id}_{XXXX}{ending}` in channel order. MSD training
   * lists: one file, holding all channels along the 4th axis when there are several.
   */
  readonly images: readonly string[];
  /** `labelsTr/{id}{ending}`, or null for unlabelled (test) cases. */
  readonly label: string | null;
}

/** File names (not paths) found in the dataset's folders; hidden files ('.', '._' from macOS) are ignored. */
export interface DatasetListing {
  readonly imagesTr: readonly string[];
  readonly labelsTr?: readonly string[];
}

/**
 * The training cases of a dataset, sorted by id. With an MSD `training` list whose images lack the
 * `_0000` channel suffix, the list is used (and checked against the listing); otherwise cases come from
 * `{CASE}_{XXXX}{ending}` in imagesTr and `{CASE}{ending}` in labelsTr, every channel required.
 * @throws DatasetError naming every case with a missing or unexpected file
 */
export function listCases(info: DatasetInfo, listing: DatasetListing, source = 'dataset'): CaseFiles[] {
  const ending = info.fileEnding;
  const visible = (names: readonly string[]) => names.filter((n) => !n.startsWith('.'));
  const images = visible(listing.imagesTr);
  const labels = listing.labelsTr ? new Set(visible(listing.labelsTr)) : null;
  const problems: string[] = [];
  const channelPattern = /^(.+)_(\d{4})$/;
  const usesChannelFiles = images.some(
    (n) => n.endsWith(ending) && channelPattern.test(n.slice(0, -ending.length)),
  );
  let cases: CaseFiles[];
  if (info.training && info.training.length > 0 && !usesChannelFiles) {
    const present = new Set(images);
    cases = info.training.map(({ image, label }) => {
      const base = image.split('/').pop()!;
      const id = base.endsWith(ending) ? base.slice(0, -ending.length) : base;
      if (!present.has(base))
        problems.push(`case ${id}: image '${image}' is listed in 'training' but missing`);
      if (labels && !labels.has(label.split('/').pop()!))
        problems.push(`case ${id}: label '${label}' is missing`);
      return { id, images: [image], label };
    });
  } else {
    const byCase = new Map<string, string[]>();
    for (const name of images) {
      const m = name.endsWith(ending) ? channelPattern.exec(name.slice(0, -ending.length)) : null;
      if (!m) {
        problems.push(`imagesTr/${name} does not match {CASE}_{XXXX}${ending}`);
        continue;
      }
      const channel = Number(m[2]);
      if (channel >= info.channels.length) {
        problems.push(
          `case ${m[1]}: channel ${m[2]} but dataset.json declares ${info.channels.length} channel(s)`,
        );
        continue;
      }
      const files = byCase.get(m[1]!) ?? [];
      files[channel] = `imagesTr/${name}`;
      byCase.set(m[1]!, files);
    }
    cases = [...byCase].map(([id, files]) => {
      const missing = info.channels.map((_, c) => c).filter((c) => files[c] === undefined);
      if (missing.length > 0) {
        problems.push(
          `case ${id}: missing channel file(s) ${missing.map((c) => `${id}_${String(c).padStart(4, '0')}${ending}`).join(', ')}`,
        );
      }
      const label = `${id}${ending}`;
      if (labels && !labels.has(label)) problems.push(`case ${id}: no label labelsTr/${label}`);
      return { id, images: files, label: labels ? `labelsTr/${label}` : null };
    });
    if (labels) {
      const ids = new Set(byCase.keys());
      for (const name of labels) {
        const id = name.endsWith(ending) ? name.slice(0, -ending.length) : name;
        if (!ids.has(id)) problems.push(`case ${id}: label labelsTr/${name} has no image`);
      }
    }
  }
  if (info.numTraining !== undefined && cases.length !== info.numTraining) {
    problems.push(
      `dataset.json says numTraining = ${info.numTraining} but ${cases.length} case(s) were found`,
    );
  }
  if (problems.length > 0) throw new DatasetError(source, problems);
  return cases.sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
}

export interface VerifyOptions {
  /** Allowed affine difference, relative: |a − b| ≤ tol·(1 + max(|a|, |b|)); default 1e-4. */
  readonly affineTolerance?: number;
}

/**
 * Checks one case's image channel volumes against its label (nnU-Net's dataset integrity check):
 * spatial shapes equal, affines equal within tolerance, image values finite, label values integers
 * from `labels`. Returns the problems found, each starting with `case {id}:`; empty when the pair is fine.
 */
export function verifyPair(
  caseId: string,
  images: readonly Volume[],
  label: Volume,
  labels: Readonly<Record<string, number>>,
  options: VerifyOptions = {},
): string[] {
  const tol = options.affineTolerance ?? 1e-4;
  const problems: string[] = [];
  const say = (msg: string) => problems.push(`case ${caseId}: ${msg}`);
  const spatial = (v: Volume) => v.shape.slice(0, 3).join('×');
  if (label.shape.length > 3 && label.shape.slice(3).some((d) => d !== 1)) {
    say(`label has shape [${label.shape.join(', ')}], expected 3D`);
  }
  if ((label.shape[2] ?? 1) < 2) {
    say(`a 2D image [${label.shape.join(', ')}] (one slice): MA-SAM trains on 3D volumes (stacks of slices)`);
  }
  images.forEach((img, c) => {
    if (spatial(img) !== spatial(label))
      say(`channel ${c} shape ${spatial(img)} differs from label shape ${spatial(label)}`);
    const worst = maxAffineDifference(img.affine, label.affine);
    if (worst.excess > tol) {
      say(
        `channel ${c} affine differs from the label's (entry [${worst.r}][${worst.c}]: ${worst.a} vs ${worst.b})`,
      );
    }
    for (let i = 0; i < img.data.length; i++) {
      const v = Number(img.data[i]);
      if (!Number.isFinite(v)) {
        say(`channel ${c} has a non-finite value ${v}`);
        break;
      }
    }
  });
  const allowed = new Set(Object.values(labels));
  const found = labelValues(label);
  const bad = [...found].filter((v) => !allowed.has(v)).sort((a, b) => a - b);
  if (bad.length > 0) {
    say(
      `label values ${bad.slice(0, 10).join(', ')}${bad.length > 10 ? ', …' : ''} are not in dataset.json labels`,
    );
  }
  return problems;
}

function maxAffineDifference(
  a: Volume['affine'],
  b: Volume['affine'],
): { excess: number; r: number; c: number; a: number; b: number } {
  let worst = { excess: 0, r: 0, c: 0, a: a[0][0], b: b[0][0] };
  for (let r = 0; r < 3; r++) {
    for (let c = 0; c < 4; c++) {
      const x = a[r]![c]!;
      const y = b[r]![c]!;
      const excess = Math.abs(x - y) / (1 + Math.max(Math.abs(x), Math.abs(y)));
      if (excess > worst.excess) worst = { excess, r, c, a: x, b: y };
    }
  }
  return worst;
}

/** Distinct values of a label volume (non-integers kept as they are, so they fail the check). */
function labelValues(label: Volume): Set<number> {
  const seen = new Set<number>();
  const data = label.data;
  // Small non-negative integers (the usual case) are counted in a table, the rest in the Set.
  const table = new Uint8Array(256);
  for (let i = 0; i < data.length; i++) {
    const v = Number(data[i]);
    if (Number.isInteger(v) && v >= 0 && v < 256) table[v] = 1;
    else seen.add(v);
  }
  table.forEach((hit, v) => {
    if (hit) seen.add(v);
  });
  return seen;
}

export interface SplitOptions {
  readonly seed: number;
  /** Fraction of cases for validation; default 0.2. Ignored when numVal is given. */
  readonly valFraction?: number;
  readonly numVal?: number;
}

/**
 * Deterministic case-level train/validation split: the sorted ids are shuffled with `new Rng(seed)` and
 * the first numVal (default round(valFraction·n), at least 1 when n ≥ 2 and valFraction > 0) go to
 * validation. The result depends only on the set of ids and the seed; both lists come back sorted.
 * Splitting by case (not by stack) keeps every slice of a volume on one side.
 */
export function splitCases(
  ids: readonly string[],
  options: SplitOptions,
): { train: string[]; val: string[] } {
  const sorted = [...new Set(ids)].sort();
  if (sorted.length !== ids.length) throw new MasamError('splitCases: case ids repeat');
  const fraction = options.valFraction ?? 0.2;
  const n = sorted.length;
  let numVal = options.numVal ?? Math.round(fraction * n);
  if (options.numVal === undefined && fraction > 0 && n >= 2) numVal = Math.max(numVal, 1);
  if (!Number.isInteger(numVal) || numVal < 0 || numVal > n) {
    throw new MasamError(`splitCases: cannot take ${numVal} validation case(s) from ${n}`);
  }
  const shuffled = new Rng(options.seed).shuffle([...sorted]);
  return { train: shuffled.slice(numVal).sort(), val: shuffled.slice(0, numVal).sort() };
}
