// Run-folder integrity (issue 10 item 7): one process per folder (a live holder is named by PID, a dead
// one's lock is taken over), temporary files of a killed run removed on start, metrics.jsonl cut back to
// the checkpoint a run resumes from, and a folder without checkpoints reusable by a fresh run.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { appendFile, readdir } from 'node:fs/promises';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { appendFileChecked, removeStaleTemporaries, writeFileAtomic } from '../api/files.js';
import { RunDir, type RunFileWriter } from './run_dir.js';
import { LOCK_NAME } from './run_lock.js';

/** The checked writers the CLI uses (api/files.ts). */
const WRITER: RunFileWriter = {
  writeAtomic: writeFileAtomic,
  append: appendFileChecked,
  removeStaleTemporaries,
};

/** The PID of a process that has exited (as a kill -9 leaves a lock behind). */
async function deadPid(): Promise<number> {
  const child = spawn(process.execPath, ['-e', '']);
  await new Promise((resolve) => child.on('exit', resolve));
  return child.pid!;
}

describe('run folder', () => {
  const root = mkdtempSync(join(tmpdir(), 'masam-rundir-'));
  after(() => rmSync(root, { recursive: true, force: true }));

  it('lets one process train in a folder: a second gets an error naming the holder PID', async () => {
    const child = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 60000)']);
    try {
      const dir = join(root, 'busy');
      mkdirSync(dir);
      const lock = { pid: child.pid, host: hostname(), since: '2026-01-01T00:00:00Z' };
      writeFileSync(join(dir, LOCK_NAME), JSON.stringify(lock));
      await assert.rejects(
        new RunDir(dir, WRITER).open(),
        new RegExp(`in use by another masam train \\(PID ${child.pid}`),
      );
      const mine = await new RunDir(join(root, 'mine'), WRITER).open();
      await assert.rejects(new RunDir(join(root, 'mine'), WRITER).open(), new RegExp(`PID ${process.pid}`));
      await mine.lock.release();
      assert.equal(existsSync(join(root, 'mine', LOCK_NAME)), false, 'released');
    } finally {
      child.kill();
    }
  });

  it('takes over the lock of a dead process with a note, and removes the temporary files it left', async () => {
    const dir = join(root, 'killed');
    mkdirSync(join(dir, 'cache'), { recursive: true });
    const pid = await deadPid();
    writeFileSync(join(dir, LOCK_NAME), JSON.stringify({ pid, host: hostname(), since: 'x' }));
    writeFileSync(join(dir, `.latest.safetensors.${pid}.0badc0de.tmp`), '');
    writeFileSync(join(dir, 'cache', `.a-1.safetensors.${pid}.12345678.tmp`), '');
    const { lock, notes } = await new RunDir(dir, WRITER).open();
    assert.match(notes[0]!, new RegExp(`took over the lock of PID ${pid}, which is no longer running`));
    assert.match(notes[1]!, /removed 2 temporary file/);
    assert.deepEqual((await readdir(dir)).sort(), ['cache', LOCK_NAME]);
    assert.equal(JSON.parse(readFileSync(join(dir, LOCK_NAME), 'utf8')).pid, process.pid);
    await lock.release();
  });

  it('cuts metrics.jsonl back to the resumed step, so each step appears once (a torn last line dropped)', async () => {
    const dir = join(root, 'metrics');
    mkdirSync(dir);
    const run = new RunDir(dir, WRITER);
    for (let step = 1; step <= 6; step++) await run.log({ step, loss: 1 / step, seconds: step });
    await run.log({ step: 4, val_mean: 0.5 });
    await run.log({ step: 6, val_mean: 0.6 });
    await appendFile(run.file('metrics.jsonl'), '{"step": 7, "lo');
    const kept = await run.truncateMetrics(4);
    assert.deepEqual(
      kept.map((r) => r.step),
      [1, 2, 3, 4, 4],
    );
    assert.deepEqual(await run.readMetrics(), kept);
  });

  it('lets a fresh run reuse a folder without checkpoints, and refuses one with a checkpoint or foreign files', async () => {
    const dir = join(root, 'early');
    mkdirSync(join(dir, 'cache'), { recursive: true });
    for (const f of ['run.json', 'metrics.jsonl', 'train.log']) writeFileSync(join(dir, f), '');
    const run = new RunDir(dir, WRITER);
    await run.checkFreshStart();
    writeFileSync(join(dir, 'latest.safetensors'), '');
    await assert.rejects(
      run.checkFreshStart(),
      /already holds a trained run \(latest\.safetensors\).*--resume/,
    );
    const home = join(root, 'home');
    mkdirSync(home);
    writeFileSync(join(home, 'notes.txt'), '');
    await assert.rejects(
      new RunDir(home, WRITER).checkFreshStart(),
      /not empty and not a masam run folder.*notes\.txt/,
    );
    await new RunDir(join(root, 'absent'), WRITER).checkFreshStart();
  });
});
