// nnU-Net-compatible folds: numpy's RandomState shuffle bit for bit, KFold(5, shuffle, seed 12345) over
// sorted ids as nnU-Net's generate_crossval_split makes it, checks of a given splits_final.json, and where
// a missing one is written.
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { SPLITS_NAME, crossValidationSplits, parseSplits, resolveFold } from './folds.js';
import { numpyShuffle } from './numpy_random.js';

// Reference values from numpy 2.4 (`a = np.arange(n); np.random.RandomState(12345).shuffle(a)`) and,
// for the folds, sklearn's KFold rule on that permutation (test folds are consecutive chunks of it, the
// first n mod 5 one longer, each list in index order).
const NUMPY = {
  5: [0, 4, 3, 1, 2],
  7: [6, 3, 4, 0, 1, 5, 2],
  30: [
    26, 12, 18, 3, 15, 8, 0, 24, 21, 20, 7, 6, 23, 22, 10, 13, 11, 19, 16, 25, 14, 17, 27, 29, 28, 9, 4, 1, 5,
    2,
  ],
};
const IDS = Array.from({ length: 12 }, (_, i) => `c${String(i).padStart(2, '0')}`);
const VAL_FOLDS = [
  ['c00', 'c03', 'c08'],
  ['c07', 'c10', 'c11'],
  ['c06', 'c09'],
  ['c01', 'c04'],
  ['c02', 'c05'],
];

describe('cross-validation folds', () => {
  const dir = mkdtempSync(join(tmpdir(), 'masam-folds-'));
  after(() => rmSync(dir, { recursive: true, force: true }));

  it("shuffles exactly as numpy's RandomState(12345).shuffle", () => {
    for (const [n, expected] of Object.entries(NUMPY))
      assert.deepEqual(numpyShuffle([...Array(Number(n)).keys()], 12345), expected, `n = ${n}`);
  });

  it("makes nnU-Net's 5 folds from the sorted ids, whatever their order", () => {
    const splits = crossValidationSplits([...IDS].reverse());
    assert.deepEqual(
      splits.map((s) => s.val),
      VAL_FOLDS,
    );
    for (const s of splits) assert.deepEqual([...s.train, ...s.val].sort(), IDS);
    assert.throws(() => crossValidationSplits(['a', 'b']), /at least 5 cases, got 2/);
  });

  it('refuses a splits file naming unknown cases or lacking a list, naming the file and fold', () => {
    assert.throws(() => parseSplits({}, 'x.json', IDS), /x\.json: expected a list/);
    assert.throws(() => parseSplits([{ train: ['c00'], val: ['zz'] }], 'x.json', IDS), /fold 0 "val".*zz/);
    assert.throws(() => parseSplits([{ train: ['c00'] }], 'x.json', IDS), /fold 0 needs a non-empty "val"/);
  });

  it("uses the dataset's splits_final.json; creates one there when missing, or in the run folder when the dataset is read-only", async () => {
    const data = join(dir, 'data');
    const run = join(dir, 'run');
    for (const d of [data, run]) mkdirSync(d);
    const options = { datasetDir: data, runDir: run, caseIds: IDS, fold: 2, writeAtomic: writeFile };
    const created = await resolveFold(options);
    assert.deepEqual(created, {
      split: crossValidationSplits(IDS)[2],
      file: join(data, SPLITS_NAME),
      created: true,
    });
    assert.deepEqual(JSON.parse(readFileSync(join(data, SPLITS_NAME), 'utf8')), crossValidationSplits(IDS));

    writeFileSync(join(data, SPLITS_NAME), JSON.stringify([{ train: ['c01', 'c02'], val: ['c00'] }]));
    assert.deepEqual((await resolveFold({ ...options, fold: 0 })).split, {
      train: ['c01', 'c02'],
      val: ['c00'],
    });
    await assert.rejects(resolveFold(options), /holds 1 fold\(s\), no fold 2/);

    rmSync(join(data, SPLITS_NAME));
    const readOnly = async (path: string, bytes: Uint8Array) => {
      if (path.startsWith(data)) throw Object.assign(new Error('read-only file system'), { code: 'EROFS' });
      await writeFile(path, bytes);
    };
    const fallback = await resolveFold({ ...options, writeAtomic: readOnly });
    assert.equal(fallback.file, join(run, SPLITS_NAME));
    assert.deepEqual((await resolveFold(options)).file, join(run, SPLITS_NAME), 'found there next time');
  });
});
