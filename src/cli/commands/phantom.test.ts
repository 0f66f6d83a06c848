// Tests for `masam phantom`: the dataset it writes passes parseDatasetJson + listCases, its files read back
// with matching shapes, the same seed gives the same bytes, and a non-empty folder needs --force.
import assert from 'node:assert/strict';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { listCases, parseDatasetJson } from '../../data/dataset.js';
import { runCommand } from '../../../test/cli.js';
import { UsageError } from '../command.js';
import { readVolume } from '../volume_files.js';
import { parseSize, phantom } from './phantom.js';

const runPhantom = (args: string[]) => runCommand(phantom, args);

/** Checks the dataset in `dir` against the layout and reads every file back. */
async function checkDataset(dir: string, channels: number, size: readonly number[]) {
  const info = parseDatasetJson(JSON.parse(readFileSync(join(dir, 'dataset.json'), 'utf8')), 'dataset.json');
  assert.equal(info.channels.length, channels);
  const cases = listCases(info, {
    imagesTr: readdirSync(join(dir, 'imagesTr')),
    labelsTr: readdirSync(join(dir, 'labelsTr')),
  });
  for (const c of cases) {
    assert.equal(c.images.length, channels);
    const label = await readVolume(join(dir, c.label!));
    assert.deepEqual(label.shape, size);
    assert.equal(label.dtype, 'uint8');
    for (const image of c.images) assert.deepEqual((await readVolume(join(dir, image))).shape, size);
  }
  return { info, cases };
}

describe('masam phantom', () => {
  const tmp = mkdtempSync(join(tmpdir(), 'masam-phantom-'));
  after(() => rmSync(tmp, { recursive: true, force: true }));

  it('writes a CT dataset that parseDatasetJson, listCases and readVolume accept', async () => {
    const out = join(tmp, 'ct');
    const r = await runPhantom([
      '--out',
      out,
      '--modality',
      'ct',
      '--cases',
      '3',
      '--test',
      '2',
      '--seed',
      '5',
      '--size',
      '24x20x6',
    ]);
    assert.equal(r.code, 0);
    const { info, cases } = await checkDataset(out, 1, [24, 20, 6]);
    assert.deepEqual(
      cases.map((c) => c.id),
      ['ct_000', 'ct_001', 'ct_002'],
    );
    assert.equal(info.numTraining, 3);
    assert.equal(info.labels['liver'], 6);
    assert.deepEqual(readdirSync(join(out, 'imagesTs')).sort(), ['ct_003_0000.nii.gz', 'ct_004_0000.nii.gz']);
    assert.deepEqual(readdirSync(join(out, 'labelsTs')).sort(), ['ct_003.nii.gz', 'ct_004.nii.gz']);
    const image = await readVolume(join(out, 'imagesTr', 'ct_000_0000.nii.gz'));
    assert.equal(image.dtype, 'int16');
    assert.ok(image.spacing.every((s) => s > 0));
    assert.match(r.out, /3 training \+ 2 test case\(s\), seed 5/);
    assert.match(r.out, /imagesTr\/\s+3 file\(s\)/);
    // No temp files are left behind.
    for (const sub of ['imagesTr', 'labelsTr', 'imagesTs', 'labelsTs', '.']) {
      assert.deepEqual(
        readdirSync(join(out, sub)).filter((n) => n.startsWith('.')),
        [],
      );
    }
  });

  it('writes video phantoms as three channel files per case, MRI as one', async () => {
    const video = join(tmp, 'video');
    assert.equal(
      (
        await runPhantom([
          '--out',
          video,
          '--modality',
          'video',
          '--cases',
          '2',
          '--test',
          '0',
          '--size',
          '16x12x4',
        ])
      ).code,
      0,
    );
    const v = await checkDataset(video, 3, [16, 12, 4]);
    assert.deepEqual(v.info.channels, ['R', 'G', 'B']);
    assert.deepEqual(v.cases[0]!.images, [
      'imagesTr/video_000_0000.nii.gz',
      'imagesTr/video_000_0001.nii.gz',
      'imagesTr/video_000_0002.nii.gz',
    ]);
    assert.equal((await readVolume(join(video, v.cases[0]!.images[0]!))).dtype, 'uint8');
    assert.deepEqual(readdirSync(join(video, 'imagesTs')), []);
    const mri = join(tmp, 'mri');
    assert.equal(
      (await runPhantom(['--out', mri, '--modality', 'mri', '--cases', '1', '--size', '16x16x5'])).code,
      0,
    );
    await checkDataset(mri, 1, [16, 16, 5]);
  });

  it('is deterministic in the seed', async () => {
    const a = join(tmp, 'seed-a');
    const b = join(tmp, 'seed-b');
    for (const out of [a, b])
      await runPhantom([
        '--out',
        out,
        '--modality',
        'ct',
        '--cases',
        '1',
        '--test',
        '0',
        '--seed',
        '9',
        '--size',
        '16x16x4',
      ]);
    const file = join('labelsTr', 'ct_000.nii.gz');
    assert.deepEqual(readFileSync(join(a, file)), readFileSync(join(b, file)));
  });

  it('refuses a non-empty folder unless --force, which replaces the dataset and keeps other files', async () => {
    const out = join(tmp, 'force');
    mkdirSync(out);
    writeFileSync(join(out, 'notes.txt'), 'mine');
    const args = ['--out', out, '--modality', 'ct', '--cases', '2', '--test', '0', '--size', '16x16x4'];
    await assert.rejects(
      phantom.run(args),
      (err: Error) => err instanceof UsageError && /not empty.*--force/.test(err.message),
    );
    assert.deepEqual(readdirSync(out), ['notes.txt']);
    assert.equal((await runPhantom([...args, '--force'])).code, 0);
    // Fewer cases over a larger dataset: the stale case goes, so the layout stays valid.
    const r = await runPhantom([
      '--out',
      out,
      '--modality',
      'ct',
      '--cases',
      '1',
      '--test',
      '0',
      '--size',
      '16x16x4',
      '--force',
    ]);
    assert.match(r.out, /removed 2 NIfTI file\(s\)/);
    const { cases } = await checkDataset(out, 1, [16, 16, 4]);
    assert.equal(cases.length, 1);
    assert.equal(readFileSync(join(out, 'notes.txt'), 'utf8'), 'mine');
  });

  it('rejects bad arguments before writing anything', async () => {
    const out = join(tmp, 'bad');
    await assert.rejects(phantom.run(['--out', out]), UsageError);
    await assert.rejects(phantom.run(['--out', out, '--modality', 'pet']), /ct, mri or video/);
    await assert.rejects(phantom.run(['--out', out, '--modality', 'ct', '--cases', '-1']), UsageError);
    await assert.rejects(phantom.run(['--out', out, '--modality', 'ct', '--size', '16x16']), /WxHxD/);
    assert.equal(existsSync(out), false);
    assert.deepEqual(parseSize('64×48x12'), [64, 48, 12]);
  });
});
