// Cross-validation folds as nnU-Net v2 keeps them (issue 11 "Folds"): `splits_final.json`, a list of
// {"train": [case ids], "val": [case ids]}, one per fold. A dataset without one gets nnU-Net's own split:
// the sorted case ids through KFold(5, shuffle=True, random_state=12345), written atomically into the
// dataset (or into the run folder when the dataset is read-only), so published protocols can be followed
// and nnU-Net and masam train on the same folds.
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { MasamError } from '../core/errors.js';
import { numpyShuffle } from './numpy_random.js';

export const SPLITS_NAME = 'splits_final.json';

export interface Split {
  readonly train: readonly string[];
  readonly val: readonly string[];
}

/**
 * nnU-Net's generate_crossval_split: KFold(folds, shuffle=True, random_state=seed) over the sorted ids;
 * the first n mod folds folds take one case more; both lists keep the sorted order.
 */
export function crossValidationSplits(ids: readonly string[], folds = 5, seed = 12345): Split[] {
  const sorted = [...ids].sort();
  if (sorted.length < folds)
    throw new MasamError(
      `${folds}-fold cross-validation needs at least ${folds} cases, got ${sorted.length}`,
    );
  const order = numpyShuffle([...sorted.keys()], seed);
  const splits: Split[] = [];
  let start = 0;
  for (let f = 0; f < folds; f++) {
    const size = Math.floor(sorted.length / folds) + (f < sorted.length % folds ? 1 : 0);
    const val = new Set(order.slice(start, start + size));
    start += size;
    splits.push({
      train: sorted.filter((_, i) => !val.has(i)),
      val: sorted.filter((_, i) => val.has(i)),
    });
  }
  return splits;
}

/** Checks a splits_final.json against the dataset's case ids. @throws MasamError naming the file. */
export function parseSplits(json: unknown, source: string, caseIds: readonly string[]): Split[] {
  const known = new Set(caseIds);
  if (!Array.isArray(json) || json.length === 0)
    throw new MasamError(`${source}: expected a list of {"train": [...], "val": [...]} (one per fold)`);
  return json.map((entry, fold) => {
    const e = entry as Partial<Record<'train' | 'val', unknown>>;
    const list = (key: 'train' | 'val'): string[] => {
      const v = e?.[key];
      if (!Array.isArray(v) || v.length === 0 || v.some((id) => typeof id !== 'string'))
        throw new MasamError(`${source}: fold ${fold} needs a non-empty "${key}" list of case ids`);
      const unknown = (v as string[]).filter((id) => !known.has(id));
      if (unknown.length > 0)
        throw new MasamError(
          `${source}: fold ${fold} "${key}" names case(s) the dataset does not have: ${unknown.slice(0, 5).join(', ')}`,
        );
      return v as string[];
    };
    return { train: list('train'), val: list('val') };
  });
}

export interface FoldOptions {
  readonly datasetDir: string;
  readonly runDir: string;
  readonly caseIds: readonly string[];
  readonly fold: number;
  /** Atomic writer (api/files.ts) for a newly created splits file. */
  readonly writeAtomic: (path: string, bytes: Uint8Array) => Promise<void>;
}

/**
 * The train/val cases of fold `fold`: from splits_final.json in the dataset, else in the run folder, else
 * created (nnU-Net's rule) in the dataset, or in the run folder if the dataset cannot be written.
 * @returns the split, the file it came from, and whether that file was created now.
 */
export async function resolveFold(o: FoldOptions): Promise<{ split: Split; file: string; created: boolean }> {
  for (const file of [join(o.datasetDir, SPLITS_NAME), join(o.runDir, SPLITS_NAME)]) {
    let text: string;
    try {
      text = await readFile(file, 'utf8');
    } catch {
      continue;
    }
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch (err) {
      throw new MasamError(`${file}: not valid JSON (${(err as Error).message})`);
    }
    const splits = parseSplits(json, file, o.caseIds);
    const split = splits[o.fold];
    if (!split) throw new MasamError(`${file}: holds ${splits.length} fold(s), no fold ${o.fold}`);
    return { split, file, created: false };
  }
  const splits = crossValidationSplits(o.caseIds);
  const bytes = new TextEncoder().encode(`${JSON.stringify(splits, null, 2)}\n`);
  let file = join(o.datasetDir, SPLITS_NAME);
  try {
    await o.writeAtomic(file, bytes);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code !== 'EACCES' && code !== 'EROFS' && code !== 'EPERM') throw err;
    file = join(o.runDir, SPLITS_NAME);
    await o.writeAtomic(file, bytes);
  }
  return { split: splits[o.fold]!, file, created: true };
}
