// `masam segment` on volumes with NaN/Inf voxels (issue 10 item 3), with the bundled demo model: the voxels
// are replaced as the intensity clip would (data/intensity.ts) with a warning naming the file and the
// count, the labels match the clean volume's except next to them, and --strict refuses the input.
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { runCommand } from '../../../test/cli.js';
import { REPO_ROOT } from '../../../test/fixtures.js';
import { FormatError } from '../../core/errors.js';
import { parseNifti, serializeNifti } from '../../io/nifti.js';
import { IDENTITY_AFFINE } from '../../io/volume.js';
import { segment } from './segment.js';

const MODEL = join(REPO_ROOT, 'models', 'demo', 'model.onnx');
const [NX, NY, NZ] = [40, 40, 7];
const at = (i: number, j: number, k: number) => i + NX * (j + NY * k);

/** A bright disc (soft tissue in air) that grows along k, float32 HU. */
function disc(): Float32Array {
  const data = new Float32Array(NX * NY * NZ).fill(-1000);
  for (let k = 0; k < NZ; k++)
    for (let j = 0; j < NY; j++)
      for (let i = 0; i < NX; i++) if ((i - 20) ** 2 + (j - 18) ** 2 < (8 + k) ** 2) data[at(i, j, k)] = 50;
  return data;
}

describe('masam segment with NaN/Inf voxels', () => {
  const dir = mkdtempSync(join(tmpdir(), 'masam-nonfinite-'));
  after(() => rmSync(dir, { recursive: true, force: true }));
  const write = (name: string, data: Float32Array) => {
    const path = join(dir, name);
    const volume = { data, dtype: 'float32' as const, shape: [NX, NY, NZ], spacing: [1, 1, 1] };
    writeFileSync(path, serializeNifti({ ...volume, affine: IDENTITY_AFFINE }));
    return path;
  };
  const clean = write('clean.nii', disc());
  const dirtyData = disc();
  dirtyData[at(20, 18, 2)] = Number.NaN;
  dirtyData[at(3, 4, 5)] = Number.POSITIVE_INFINITY;
  const dirty = write('dirty.nii', dirtyData);
  const run = (input: string, output: string, ...extra: string[]) =>
    runCommand(segment, [
      '--model',
      MODEL,
      '--input',
      input,
      '--output',
      join(dir, output),
      '--threads',
      '1',
      ...extra,
    ]);
  const labels = (name: string) => parseNifti(readFileSync(join(dir, name)), name).data as Uint8Array;

  it('warns naming the file and the count; labels equal those of the hand-replaced volume', async () => {
    // The policy by hand: NaN → −200 HU (window minimum), +Inf → 250 HU (window maximum).
    const byHandData = disc();
    byHandData[at(20, 18, 2)] = -200;
    byHandData[at(3, 4, 5)] = 250;
    const byHand = write('by_hand.nii', byHandData);
    assert.equal((await run(clean, 'clean_seg.nii')).err, '');
    assert.equal((await run(byHand, 'by_hand_seg.nii')).err, '');
    const { code, err } = await run(dirty, 'dirty_seg.nii');
    assert.equal(code, 0);
    assert.ok(
      err.includes(
        `warning: ${dirty}: 2 NaN/Inf voxels replaced (NaN and −Inf → -200 HU (the window minimum)`,
      ),
      err,
    );
    const a = labels('clean_seg.nii');
    const b = labels('dirty_seg.nii');
    assert.deepEqual(b, labels('by_hand_seg.nii'));
    // Against the clean volume: the hole the NaN leaves in the disc moves its edge on that slice only
    // (measured: 14 voxels, all on slice 2 within 8.5 voxels); no slice is blanked.
    assert.ok(
      a.some((l) => l > 0),
      'the clean disc is segmented',
    );
    const far: number[][] = [];
    for (let p = 0; p < a.length; p++) {
      const [i, j, k] = [p % NX, Math.floor(p / NX) % NY, Math.floor(p / (NX * NY))];
      if (a[p] !== b[p] && !(k === 2 && Math.hypot(i - 20, j - 18) <= 10)) far.push([i, j, k]);
    }
    assert.deepEqual(far, [], 'labels differ away from the NaN voxel');
  });

  it('--strict refuses the input naming the file and the count, and writes nothing', async () => {
    await assert.rejects(
      run(dirty, 'strict_seg.nii', '--strict'),
      (e: unknown) =>
        e instanceof FormatError && e.message === `${dirty}: 2 NaN/Inf voxels (refused in strict mode)`,
    );
    assert.equal(existsSync(join(dir, 'strict_seg.nii')), false);
    assert.equal((await run(clean, 'clean_strict.nii', '--strict')).code, 0);
  });
});
