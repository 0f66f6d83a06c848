// Case names of channel files (nnU-Net layout): CASE_0000.nii.gz → CASE.nii.gz, channels grouped by case
// when the dataset.json says how many there are, and a folder of other names left as it is.
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { caseFileName, datasetChannels, groupCases } from './case_files.js';

describe('case files', () => {
  const tmp = mkdtempSync(join(tmpdir(), 'masam-case-files-'));
  after(() => rmSync(tmp, { recursive: true, force: true }));

  it('names channel 0 by its case and leaves other names alone', () => {
    assert.equal(caseFileName('liver_007_0000.nii.gz'), 'liver_007.nii.gz');
    assert.equal(caseFileName('prostate_01_0000.nii'), 'prostate_01.nii');
    assert.equal(caseFileName('case_01.nii.gz'), 'case_01.nii.gz');
    assert.equal(caseFileName('case_0001.nii.gz'), 'case_0001.nii.gz');
    assert.equal(caseFileName('ct.nii.gz'), 'ct.nii.gz');
  });

  it('groups single-channel files by case without a dataset.json', () => {
    assert.deepEqual(groupCases(['a_0000.nii.gz', 'b_0000.nii'], undefined, 'imagesTs'), [
      { id: 'a', ext: '.nii.gz', files: ['a_0000.nii.gz'] },
      { id: 'b', ext: '.nii', files: ['b_0000.nii'] },
    ]);
  });

  it('keeps file names where _0001 may be a case number (no dataset.json) or names differ', () => {
    const numbered = ['scan_0000.nii.gz', 'scan_0001.nii.gz'];
    assert.deepEqual(
      groupCases(numbered, undefined, 'in').map((c) => c.id),
      ['scan_0000', 'scan_0001'],
    );
    assert.deepEqual(
      groupCases(['a_0000.nii.gz', 'b.nii.gz'], undefined, 'in').map((c) => c.id),
      ['a_0000', 'b'],
    );
  });

  it("groups a dataset.json's channels by case in channel order, and names a missing channel", () => {
    const names = ['p1_0000.nii.gz', 'p1_0001.nii.gz', 'p2_0001.nii.gz', 'p2_0000.nii.gz'];
    assert.deepEqual(groupCases(names, 2, 'imagesTs'), [
      { id: 'p1', ext: '.nii.gz', files: ['p1_0000.nii.gz', 'p1_0001.nii.gz'] },
      { id: 'p2', ext: '.nii.gz', files: ['p2_0000.nii.gz', 'p2_0001.nii.gz'] },
    ]);
    assert.throws(
      () => groupCases(['p1_0000.nii.gz', 'p1_0001.nii.gz', 'p2_0001.nii.gz'], 2, 'imagesTs'),
      /imagesTs: case p2: missing channel file\(s\) p2_0000\.nii\.gz \(dataset\.json declares 2 channel\(s\)\)/,
    );
    assert.throws(
      () => groupCases(['p1_0000.nii.gz', 'p1_0002.nii.gz'], 2, 'x'),
      /case p1: missing channel file\(s\) p1_0001\.nii\.gz; unexpected channel file\(s\) p1_0002\.nii\.gz/,
    );
  });

  it('reads the channel count from the dataset.json beside the folder', async () => {
    const images = join(tmp, 'Dataset002', 'imagesTs');
    mkdirSync(images, { recursive: true });
    assert.equal(await datasetChannels(images), undefined);
    const json = {
      channel_names: { 0: 'T2', 1: 'ADC' },
      labels: { background: 0, pz: 1 },
      file_ending: '.nii.gz',
    };
    writeFileSync(join(tmp, 'Dataset002', 'dataset.json'), JSON.stringify({ ...json, numTraining: 0 }));
    assert.equal(await datasetChannels(images), 2);
  });
});
