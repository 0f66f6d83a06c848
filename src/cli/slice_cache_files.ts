// On-disk slice cache: each case's prepared planes (train/slice_cache.ts) saved as safetensors under a
// key of its source files (path, size, mtime) and the preparation settings, so a changed input is
// re-prepared and an unchanged one is read back instead of re-resampled.
import { createHash } from 'node:crypto';
import { mkdir, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import cliProgress from 'cli-progress';
import { writeFileAtomic } from '../api/files.js';
import type { CaseFiles } from '../data/dataset.js';
import type { Modality } from '../data/intensity.js';
import { readSafetensors, writeSafetensors } from '../io/safetensors.js';
import {
  type CachedCase,
  SliceCache,
  cacheCase,
  cachedCaseFromTensors,
  cachedCaseTensors,
} from '../train/slice_cache.js';
import { type Dataset, casePaths, readCase } from './dataset_files.js';

/**
 * Bumped when the preparation itself changes, so old caches are not reused. 2: video planes zoomed as uint8
 * (rounded), as inference does; 3: inference's model grid itself (stored orientation, the grid's dtype).
 */
const CACHE_VERSION = 3;

async function caseKey(ds: Dataset, c: CaseFiles, size: number, modality: Modality): Promise<string> {
  const h = createHash('sha256');
  h.update(JSON.stringify({ CACHE_VERSION, size, modality }));
  const paths = casePaths(ds, c);
  for (const f of [...paths.images, paths.label]) {
    const s = await stat(f);
    h.update(`${f}:${s.size}:${s.mtimeMs}`);
  }
  return h.digest('hex').slice(0, 16);
}

/** Prepares (or reads back) the given cases, with a progress bar on stderr. */
export async function buildSliceCache(
  ds: Dataset,
  ids: readonly string[],
  options: { size: number; modality: Modality; cacheDir: string; label: string; augment?: boolean },
): Promise<SliceCache> {
  await mkdir(options.cacheDir, { recursive: true });
  const cases = ds.cases.filter((c) => ids.includes(c.id));
  const bar = new cliProgress.SingleBar(
    {
      format: `${options.label} [{bar}] {value}/{total} cases | ETA {eta_formatted}`,
      stream: process.stderr,
    },
    cliProgress.Presets.shades_classic,
  );
  bar.start(cases.length, 0);
  const prepared: CachedCase[] = [];
  try {
    for (const c of cases) {
      const path = join(
        options.cacheDir,
        `${c.id}-${await caseKey(ds, c, options.size, options.modality)}.safetensors`,
      );
      let cached: CachedCase | undefined;
      try {
        const { tensors } = readSafetensors(new Uint8Array(await readFile(path)), path);
        cached = cachedCaseFromTensors(c.id, tensors, options.size, options.modality, path);
      } catch {
        const lc = await readCase(ds, c);
        cached = cacheCase(lc.id, lc.image, lc.label, options.size, options.modality);
        await writeFileAtomic(path, writeSafetensors(cachedCaseTensors(cached)));
      }
      prepared.push(cached);
      bar.increment();
    }
  } finally {
    bar.stop();
  }
  return new SliceCache(prepared, options.size, options.modality, options.augment ?? true);
}
