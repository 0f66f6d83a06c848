// Tests for `masam convert`: frames folder and DICOM series → NIfTI, label volume → PNG masks, MP4 via ffmpeg.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { PNG } from 'pngjs';
import { fixturePath } from '../../../test/fixtures.js';
import { decodePng, labelSlice } from '../../io/frames.js';
import { aff2axcodes, affineMaxDiff } from '../../io/geometry.js';
import { niftiHeaderOf, parseNifti } from '../../io/nifti.js';
import { runCommand } from '../../../test/cli.js';
import { UsageError } from '../command.js';
import { readVolume } from '../volume_files.js';
import { convert } from './convert.js';

const runConvert = (args: string[]) => runCommand(convert, args);

/** Frame t has red = 10·t + x, green = y, blue = 100 + t. */
function writeFrames(dir: string, names: readonly string[], w: number, h: number): void {
  mkdirSync(dir, { recursive: true });
  names.forEach((name, t) => {
    const png = new PNG({ width: w, height: h });
    for (let y = 0; y < h; y++)
      for (let x = 0; x < w; x++) png.data.set([10 * t + x, y, 100 + t, 255], 4 * (x + w * y));
    writeFileSync(join(dir, name), PNG.sync.write(png));
  });
}

/** Names in `dir` that look like leftovers of an interrupted atomic write. */
const tempFiles = (dir: string) => readdirSync(dir).filter((n) => n.endsWith('.tmp'));

const hasFfmpeg = spawnSync('ffmpeg', ['-version'], { stdio: 'ignore' }).error === undefined;

describe('masam convert', () => {
  const tmp = mkdtempSync(join(tmpdir(), 'masam-convert-'));
  after(() => rmSync(tmp, { recursive: true, force: true }));

  it('turns a frames folder into a .nii.gz whose frame t is the t-th file in natural order', async () => {
    const frames = join(tmp, 'video');
    // Written out of order; natural order is frame_1, frame_2, frame_10.
    writeFrames(frames, ['frame_10.png', 'frame_1.png', 'frame_2.png'], 5, 4);
    const out = join(tmp, 'video.nii.gz');
    const { code, out: printed } = await runConvert([frames, out]);
    assert.equal(code, 0);
    assert.match(printed, /wrote .*video\.nii\.gz: \[5, 4, 3, 3\] uint8, orientation LPS/);
    const v = parseNifti(readFileSync(out), out);
    assert.deepEqual(v.shape, [5, 4, 3, 3]);
    assert.equal(v.dtype, 'uint8');
    assert.equal(aff2axcodes(v.affine), 'LPS');
    // writeFrames gave file k the pattern of t = k in the order written: frame_10 has t = 0, frame_1 t = 1, frame_2 t = 2.
    const writtenT = [1, 2, 0]; // natural order → the index it was written with
    const at = (x: number, y: number, t: number, c: number) => v.data[x + 5 * (y + 4 * (t + 3 * c))];
    writtenT.forEach((k, t) => {
      assert.equal(at(3, 2, t, 0), 10 * k + 3, `red of frame ${t}`);
      assert.equal(at(3, 2, t, 1), 2, `green of frame ${t}`);
      assert.equal(at(0, 0, t, 2), 100 + k, `blue of frame ${t}`);
    });
    assert.deepEqual(tempFiles(tmp), []);
  });

  it('stacks grey frames with --gray and writes NIfTI-2 with --nifti2', async () => {
    const frames = join(tmp, 'grey');
    writeFrames(frames, ['a.png', 'b.png'], 3, 2);
    const out = join(tmp, 'grey.nii');
    await runConvert([frames, out, '--gray', '--nifti2']);
    const v = parseNifti(readFileSync(out), out);
    assert.deepEqual(v.shape, [3, 2, 2]);
    assert.equal(niftiHeaderOf(v)?.version, 2);
  });

  it('converts a DICOM series folder to NIfTI with the same voxels and geometry', async () => {
    const series = fixturePath('dicom', 'series_oblique');
    const out = join(tmp, 'ct.nii.gz');
    assert.equal((await runConvert([series, out])).code, 0);
    const direct = await readVolume(series);
    const v = parseNifti(readFileSync(out), out);
    assert.deepEqual(v.shape, direct.shape);
    assert.equal(v.dtype, direct.dtype);
    for (let i = 0; i < v.data.length; i++) assert.equal(v.data[i], direct.data[i]);
    // NIfTI-1 stores the sform as float32: equal up to that rounding.
    assert.ok(
      affineMaxDiff(v.affine, direct.affine) < 1e-4,
      `affine differs by ${affineMaxDiff(v.affine, direct.affine)}`,
    );
    assert.equal(aff2axcodes(v.affine), aff2axcodes(direct.affine));
  });

  it('writes one 8-bit PNG per frame of a label volume into a folder', async () => {
    const labels = fixturePath('nifti', 'labels_uint8.nii.gz');
    const dir = join(tmp, 'masks/');
    const { out } = await runConvert([labels, dir]);
    assert.match(out, /wrote 8 PNG masks/);
    const v = parseNifti(readFileSync(labels), labels);
    const files = readdirSync(dir).sort();
    assert.equal(files.length, 8);
    assert.equal(files[0], 'mask_0000.png');
    const t = 5;
    const png = decodePng(readFileSync(join(dir, files[t]!)), files[t]!);
    const slice = labelSlice(v, t);
    assert.deepEqual([png.width, png.height], [slice.width, slice.height]);
    for (let p = 0; p < slice.data.length; p++) assert.equal(png.rgba[4 * p], slice.data[p]);
  });

  it('explains that ffmpeg is needed for .mp4 when it is not found', async () => {
    const frames = join(tmp, 'clip');
    writeFrames(frames, ['1.png', '2.png'], 4, 4);
    const saved = process.env['MASAM_FFMPEG'];
    process.env['MASAM_FFMPEG'] = join(tmp, 'no-such-ffmpeg');
    try {
      await assert.rejects(
        runConvert([frames, join(tmp, 'clip.mp4')]),
        /ffmpeg was not found.*Install ffmpeg/,
      );
    } finally {
      if (saved === undefined) delete process.env['MASAM_FFMPEG'];
      else process.env['MASAM_FFMPEG'] = saved;
    }
    assert.equal(existsSync(join(tmp, 'clip.mp4')), false);
    assert.deepEqual(tempFiles(tmp), []);
  });

  it(
    'encodes frames as .mp4 through ffmpeg',
    { skip: hasFfmpeg ? false : 'ffmpeg is not on PATH' },
    async () => {
      const frames = join(tmp, 'clip5');
      writeFrames(frames, ['1.png', '2.png', '3.png'], 5, 3); // odd size: padded to even for yuv420p
      const out = join(tmp, 'clip5.mp4');
      assert.equal((await runConvert([frames, out, '--fps', '10'])).code, 0);
      assert.ok(statSync(out).size > 0);
      assert.deepEqual(tempFiles(tmp), []);
    },
  );

  it('creates a missing output folder (NIfTI and PNG masks), as segment does', async () => {
    const src = fixturePath('nifti', 'labels_uint8.nii.gz');
    const out = join(tmp, 'not', 'yet', 'x.nii.gz');
    assert.equal((await runConvert([src, out])).code, 0);
    assert.deepEqual(parseNifti(readFileSync(out), out).shape, (await readVolume(src)).shape);
    assert.deepEqual(tempFiles(join(tmp, 'not', 'yet')), []);
    const masks = join(tmp, 'masks', 'deeper/');
    assert.equal((await runConvert([src, masks])).code, 0);
    assert.ok(readdirSync(masks).some((n) => n.endsWith('.png')));
  });

  it('rejects a missing path, an unknown output type and a bad --fps as usage errors', async () => {
    await assert.rejects(runConvert([join(tmp, 'video')]), UsageError);
    await assert.rejects(
      runConvert([join(tmp, 'video'), join(tmp, 'out.img')]),
      /must end in \.nii, \.nii\.gz or \.mp4/,
    );
    await assert.rejects(
      runConvert([join(tmp, 'video'), join(tmp, 'o.mp4'), '--fps', '0']),
      /--fps must be a positive/,
    );
  });
});
