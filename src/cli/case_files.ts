// nnU-Net case names of image files: `{CASE}_{XXXX}.nii.gz` holds channel XXXX of case CASE, and a
// prediction is named `{CASE}.nii.gz`, as nnU-Net's predict names it, so that it pairs with labelsTs/.
import { readFile, stat } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { MasamError } from '../core/errors.js';
import { parseDatasetJson } from '../data/dataset.js';

const CHANNEL_FILE = /^(.+)_(\d{4})(\.nii(?:\.gz)?)$/i;

/** `CASE_0000.nii.gz` → `CASE.nii.gz` (a lone file is channel 0 of its case); other names unchanged. */
export function caseFileName(name: string): string {
  const m = CHANNEL_FILE.exec(name);
  return m && Number(m[2]) === 0 ? `${m[1]}${m[3]}` : name;
}

/** One case of a folder: its id, the extension of its files and its channel files in channel order. */
export interface CaseInputs {
  readonly id: string;
  /** `.nii.gz` or `.nii`, as the case's files end. */
  readonly ext: string;
  readonly files: readonly string[];
}

/**
 * The cases of a folder's NIfTI file names (kept in the given order). In the nnU-Net layout, where every
 * name is `{CASE}_{XXXX}`, channel files are grouped by case: `channels` (from the dataset.json beside the
 * folder) says how many each case has; without it only single-channel cases (`_0000` alone) are grouped,
 * since in other folders `_0001` may well be a case number. Anything else is one case per file, named
 * after it.
 * @throws MasamError naming the case when a dataset.json's channel is missing or unknown.
 */
export function groupCases(
  names: readonly string[],
  channels: number | undefined,
  folder: string,
): CaseInputs[] {
  const parsed = names.map((name) => ({ name, m: CHANNEL_FILE.exec(name) }));
  const asFiles = () =>
    names.map((name) => {
      const ext = /\.nii(\.gz)?$/i.exec(name)![0];
      return { id: name.slice(0, -ext.length), ext, files: [name] };
    });
  if (parsed.some((p) => p.m === null)) return asFiles();
  const byCase = new Map<string, { ext: string; files: string[] }>();
  for (const { name, m } of parsed) {
    const entry = byCase.get(m![1]!) ?? { ext: m![3]!, files: [] };
    entry.files[Number(m![2])] = name;
    byCase.set(m![1]!, entry);
  }
  const count = channels ?? 1;
  const hasAll = (files: readonly string[]) =>
    files.length === count && Array.from({ length: count }, (_, k) => files[k] !== undefined).every(Boolean);
  const complete = [...byCase.values()].every((c) => hasAll(c.files));
  if (!complete && channels === undefined) return asFiles();
  const cases: CaseInputs[] = [];
  for (const [id, c] of byCase) {
    const missing = Array.from({ length: count }, (_, k) => k).filter((k) => c.files[k] === undefined);
    const extra = c.files.length > count ? c.files.slice(count).filter(Boolean) : [];
    if (missing.length > 0 || extra.length > 0) {
      const file = (k: number) => `${id}_${String(k).padStart(4, '0')}${c.ext}`;
      const problems = [
        ...(missing.length > 0 ? [`missing channel file(s) ${missing.map(file).join(', ')}`] : []),
        ...(extra.length > 0 ? [`unexpected channel file(s) ${extra.join(', ')}`] : []),
      ];
      throw new MasamError(
        `${folder}: case ${id}: ${problems.join('; ')} (dataset.json declares ${count} channel(s))`,
      );
    }
    cases.push({ id, ext: c.ext, files: c.files });
  }
  return cases;
}

/**
 * How many channels the dataset.json beside `folder` (an imagesTs/ in a dataset) declares; undefined when
 * there is none.
 * @throws MasamError when it exists but is not a valid dataset.json.
 */
export async function datasetChannels(folder: string): Promise<number | undefined> {
  const path = join(dirname(resolve(folder)), 'dataset.json');
  if (!(await stat(path).catch(() => undefined))?.isFile()) return undefined;
  let json: unknown;
  try {
    json = JSON.parse(await readFile(path, 'utf8'));
  } catch (err) {
    throw new MasamError(`${path}: not valid JSON (${(err as Error).message})`);
  }
  return parseDatasetJson(json, path).channels.length;
}
