// The checked atomic writer: every byte is checked (a full disk gives short writes, not errors), a failed
// write leaves the previous file and no temporary file and names the path and cause; appends are cut
// back on failure; temporary files of dead writers are recognised and removed.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { type Tmpfs, fillUntil, mountTmpfs, temporariesUnder } from '../../test/tmpfs.js';
import {
  WriteError,
  appendFileChecked,
  removeStaleTemporaries,
  tempPathFor,
  writeFileAtomic,
  writeFilesAtomic,
} from './files.js';

const bytes = (n: number, seed = 1) => Uint8Array.from({ length: n }, (_, i) => (i * 31 + seed) & 255);

describe('writeFileAtomic on a working disk', () => {
  const dir = mkdtempSync(join(tmpdir(), 'masam-files-'));
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('writes chunks as one file, replaces the previous file and leaves no temporary file', async () => {
    const path = join(dir, 'out.bin');
    writeFileSync(path, 'previous');
    await writeFilesAtomic([[path, [bytes(1000), bytes(5, 2)]]]);
    assert.deepEqual(new Uint8Array(readFileSync(path)), new Uint8Array([...bytes(1000), ...bytes(5, 2)]));
    assert.deepEqual(temporariesUnder(dir), []);
  });

  it('names the path when its folder does not exist', async () => {
    const path = join(dir, 'missing', 'out.bin');
    await assert.rejects(writeFileAtomic(path, bytes(10)), {
      name: 'WriteError',
      message: `cannot write ${path}: its folder does not exist`,
    });
  });
});

describe('removeStaleTemporaries', () => {
  const dir = mkdtempSync(join(tmpdir(), 'masam-stale-'));
  after(() => rmSync(dir, { recursive: true, force: true }));

  it("removes the temporary files of dead writers and keeps live writers' and other files", async () => {
    // A PID that was alive a moment ago and is not now.
    const dead = spawnSync(process.execPath, ['-e', '0']).pid!;
    const stale = join(dir, `.out.nii.gz.${dead}.0a1b2c3d.tmp`);
    const live = tempPathFor(join(dir, 'out.nii.gz')); // this process
    writeFileSync(stale, '');
    writeFileSync(live, '');
    writeFileSync(join(dir, '.hidden.tmp'), '');
    writeFileSync(join(dir, 'out.nii.gz'), '');
    assert.deepEqual(await removeStaleTemporaries(dir), [stale]);
    assert.deepEqual(
      readdirSync(dir).sort(),
      ['.hidden.tmp', live.slice(dir.length + 1), 'out.nii.gz'].sort(),
    );
    assert.deepEqual(await removeStaleTemporaries(join(dir, 'no such folder')), []);
  });
});

describe('writes on a full or read-only file system (tmpfs)', () => {
  const mounted = mountTmpfs(256 * 1024);
  const fs = typeof mounted === 'string' ? undefined : mounted;
  const skip = typeof mounted === 'string' ? mounted : false;
  after(() => fs?.unmount());
  const within = (t: Tmpfs, name: string) => join(t.dir, name);

  it(
    'throws "no space left on device while writing <path>", keeps the previous file, leaves no temporary file',
    { skip },
    async () => {
      const path = within(fs!, 'labels.nii');
      writeFileSync(path, 'previous labels');
      fillUntil(fs!.dir, 16 * 1024);
      const err = await writeFileAtomic(path, bytes(200 * 1024)).then(
        () => undefined,
        (e: unknown) => e,
      );
      assert.ok(err instanceof WriteError, `expected a WriteError, got ${String(err)}`);
      assert.equal(err.message, `no space left on device while writing ${path}`);
      assert.equal(err.code, 'ENOSPC');
      assert.equal(readFileSync(path, 'utf8'), 'previous labels');
      assert.deepEqual(temporariesUnder(fs!.dir), []);
    },
  );

  it(
    'writes a set of files all or none: a later file that does not fit leaves the earlier ones as they were',
    { skip },
    async () => {
      const [small, large] = [within(fs!, 'summary.json'), within(fs!, 'metrics.csv')];
      writeFileSync(small, 'old summary');
      fillUntil(fs!.dir, 16 * 1024);
      await assert.rejects(
        writeFilesAtomic([
          [small, bytes(100)],
          [large, [bytes(100 * 1024), bytes(100 * 1024)]],
        ]),
        { message: `no space left on device while writing ${large}` },
      );
      assert.equal(readFileSync(small, 'utf8'), 'old summary');
      assert.equal(existsSync(large), false);
      assert.deepEqual(temporariesUnder(fs!.dir), []);
    },
  );

  it('cuts a failed append back to the previous length', { skip }, async () => {
    const path = within(fs!, 'metrics.jsonl');
    writeFileSync(path, '{"step":1}\n');
    fillUntil(fs!.dir, 8 * 1024);
    await assert.rejects(appendFileChecked(path, bytes(64 * 1024)), {
      message: `no space left on device while writing ${path}`,
    });
    assert.equal(readFileSync(path, 'utf8'), '{"step":1}\n');
    await appendFileChecked(path, '{"step":2}\n'); // what fits still goes in
    assert.equal(readFileSync(path, 'utf8'), '{"step":1}\n{"step":2}\n');
  });

  const readOnly = typeof mounted === 'string' ? mounted : mountTmpfs(64 * 1024, { readOnly: true });
  after(() => typeof readOnly !== 'string' && readOnly.unmount());

  it('names a read-only file system', { skip: typeof readOnly === 'string' ? readOnly : false }, async () => {
    const path = join((readOnly as Tmpfs).dir, 'model.onnx');
    await assert.rejects(writeFileAtomic(path, bytes(10)), {
      name: 'WriteError',
      message: `read-only file system: cannot write ${path}`,
    });
  });
});
