// masam queue against a real Redis (Debian's redis-server, started here on 127.0.0.1 and stopped after):
// two worker processes share 6 cases, one is killed with SIGKILL while it holds a case, and the other
// finishes everything: every case is done exactly once, its label map equals `masam segment`'s, and the
// abandoned case was taken up again. A corrupt case fails after its retries, with its reason in status.
// With Orthanc (test/orthanc.ts), a DICOMweb query is submitted and a worker stores the series' DICOM-SEG.
import assert from 'node:assert/strict';
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { runCommand } from '../../../test/cli.js';
import { killWhen, startMasam } from '../../../test/cli_process.js';
import { fixturePath } from '../../../test/fixtures.js';
import { freePort } from '../../../test/free_port.js';
import { type RunningOrthanc, orthancSkipReason, startOrthanc, stopOrthanc } from '../../../test/orthanc.js';
import { TINY_OVERRIDES } from '../../../test/tiny_model.js';
import { loadMaSam } from '../../api/model.js';
import { Rng } from '../../core/rng.js';
import { ctPhantom } from '../../data/phantom.js';
import { parseNifti, serializeNifti } from '../../io/nifti.js';
import type { QueueSummary } from '../../queue/case_queue.js';
import { DicomWebClient, TAG, jsonItems, jsonString } from '../../serve/dicomweb_client.js';
import { queue } from './queue.js';
import { segment } from './segment.js';

const REDIS = spawnSync('redis-server', ['--version']).status === 0;
const ORTHANC_SKIP = orthancSkipReason();
if (ORTHANC_SKIP) console.log(`# skip: ${ORTHANC_SKIP}`);
const CASES = ['case_1', 'case_2', 'case_3', 'case_4', 'case_5', 'case_6'];

/** Resolves once something accepts connections on `port` (Redis is up). */
async function waitForPort(port: number, timeoutMs: number): Promise<void> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const ok = await new Promise<boolean>((r) => {
      const socket = connect(port, '127.0.0.1', () => {
        socket.end();
        r(true);
      });
      socket.on('error', () => r(false));
    });
    if (ok) return;
    if (Date.now() > until) throw new Error(`redis-server did not listen on ${port} within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe(
  'masam queue (BullMQ on a real Redis)',
  { skip: REDIS ? false : 'redis-server is not installed (apt-get install redis-server)' },
  () => {
    const tmp = mkdtempSync(join(tmpdir(), 'masam-queue-'));
    const [modelDir, casesDir, badDir, outDir, refDir] = ['model', 'cases', 'bad', 'out', 'ref'].map((d) =>
      join(tmp, d),
    );
    let redis: ChildProcess;
    let url: string;
    const common = () => ['--redis', url, '--queue', 'test'];

    const status = async (args = common()): Promise<QueueSummary> => {
      const run = await runCommand(queue, ['status', '--json', ...args]);
      assert.equal(run.code, 0, run.err);
      return JSON.parse(run.out) as QueueSummary;
    };

    before(async () => {
      const port = await freePort();
      url = `redis://127.0.0.1:${port}`;
      redis = spawn(
        'redis-server',
        ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', tmp],
        {
          stdio: 'ignore',
        },
      );
      await waitForPort(port, 10_000);
      const model = await loadMaSam({
        config: { preset: 'small', img_size: 32, num_classes: 2, ...TINY_OVERRIDES },
        seed: 4,
      });
      await model.exportSplit(modelDir, {
        slices: 3,
        classNames: ['background', 'liver', 'spleen'],
        preprocessing: { modality: 'ct' },
      });
      mkdirSync(casesDir);
      mkdirSync(badDir);
      CASES.forEach((name, i) => {
        const image = ctPhantom(new Rng(10 + i), { size: [48, 40, 24] }).image;
        writeFileSync(join(casesDir, `${name}.nii.gz`), serializeNifti(image, { gzip: true }));
      });
      writeFileSync(join(badDir, 'case_bad.nii.gz'), Buffer.from('not a NIfTI file, not even gzip'));
    });

    const workers: ChildProcess[] = [];
    after(() => {
      // A failed assertion leaves workers running; they would keep the test process alive.
      for (const w of workers) if (w.exitCode === null && w.signalCode === null) w.kill('SIGKILL');
      redis?.kill('SIGTERM');
      rmSync(tmp, { recursive: true, force: true });
    });

    it('two workers, one killed mid-case: every case done exactly once, as masam segment does it; a corrupt case fails with its reason', async (t) => {
      const submitted = await runCommand(queue, [
        'submit',
        casesDir,
        '--output',
        outDir,
        '--backoff-ms',
        '100',
        ...common(),
      ]);
      assert.equal(submitted.code, 0, submitted.err);
      assert.match(submitted.out, /submitted 6 of 6 case\(s\)/);
      const again = await runCommand(queue, ['submit', casesDir, '--output', outDir, ...common()]);
      assert.match(again.out, /submitted 0 of 6 case\(s\) .*\(6 already queued\)/);
      const bad = await runCommand(queue, [
        'submit',
        join(badDir, 'case_bad.nii.gz'),
        '--output',
        outDir,
        '--attempts',
        '2',
        '--backoff-ms',
        '100',
        ...common(),
      ]);
      assert.match(bad.out, /submitted 1 of 1 case\(s\)/);

      const workerArgs = [
        'queue',
        'work',
        '--model',
        modelDir,
        '--threads',
        '1',
        '--lock-ms',
        '1500',
        ...common(),
      ];
      // Worker A starts first and B once A holds a case: on a busy machine a worker takes seconds to start,
      // and B alone could otherwise finish every case before A takes one.
      const a = startMasam(workerArgs);
      workers.push(a.child);
      let aOut = '';
      a.child.stdout!.on('data', (d: Buffer) => {
        aOut += d.toString();
      });
      // A holds a case: it printed "started X" and not yet "done X".
      const holding = () => {
        const started = [...aOut.matchAll(/^started (\S+)/gm)].map((m) => m[1]!);
        return started.find((name) => !new RegExp(`^done ${name} `, 'm').test(aOut));
      };
      const workersStarted = performance.now();
      for (const until = Date.now() + 60_000; holding() === undefined && Date.now() < until; )
        await new Promise((r) => setTimeout(r, 20));
      const b = startMasam(workerArgs);
      workers.push(b.child);
      let killedCase: string | undefined;
      const killed = await killWhen(
        a,
        () => {
          killedCase = holding();
          return killedCase !== undefined && killedCase !== 'case_bad';
        },
        45_000,
      );
      assert.ok(
        killed.killed && killedCase,
        `worker A was not killed while holding a case:\n${killed.stdout}${killed.stderr}`,
      );

      const killedAt = performance.now();
      let summary = await status();
      const until = Date.now() + 45_000;
      while (summary.done + summary.failed < 7 || summary.active + summary.waiting + summary.delayed > 0) {
        assert.ok(Date.now() < until, `the queue did not finish: ${JSON.stringify(summary)}`);
        await new Promise((r) => setTimeout(r, 250));
        summary = await status();
      }
      const seconds = (ms: number) => `${(ms / 1000).toFixed(1)} s`;
      t.diagnostic(
        `A killed ${seconds(killedAt - workersStarted)} after the workers started; the queue finished ${seconds(performance.now() - killedAt)} after the kill`,
      );
      b.child.kill('SIGTERM');
      const bExit = await b.exited;
      assert.equal(bExit.code, 0, bExit.stderr);

      assert.equal(summary.done, 6);
      assert.equal(summary.failed, 1);
      assert.equal(summary.failures.length, 1);
      const failure = summary.failures[0]!;
      assert.equal(failure.name, 'case_bad');
      assert.equal(failure.attempts, 2);
      assert.match(failure.reason, /case_bad\.nii\.gz/);

      // Exactly once: each case completed by one worker, once; the killed one taken up again by B.
      const doneLines = [...`${killed.stdout}\n${bExit.stdout}`.matchAll(/^done (\S+) /gm)].map((m) => m[1]!);
      assert.deepEqual([...doneLines].sort(), CASES);
      assert.match(
        bExit.stdout,
        new RegExp(`^started ${killedCase} \\(job \\S+, try 1, abandoned 1 time\\(s\\) before\\)`, 'm'),
      );
      assert.deepEqual(
        readdirSync(outDir).sort(),
        CASES.flatMap((c) => [`${c}.labels.json`, `${c}.nii.gz`]),
        'no temporary or extra file is left',
      );

      const reference = await runCommand(segment, [
        '--model',
        modelDir,
        '--input',
        casesDir,
        '--output',
        refDir,
        '--threads',
        '1',
      ]);
      assert.equal(reference.code, 0, reference.err);
      for (const name of CASES) {
        const got = parseNifti(readFileSync(join(outDir, `${name}.nii.gz`)), name);
        const want = parseNifti(readFileSync(join(refDir, `${name}.nii.gz`)), name);
        assert.deepEqual(got.shape, want.shape);
        assert.deepEqual(got.data, want.data, `${name}: labels differ from masam segment's`);
        assert.equal(
          readFileSync(join(outDir, `${name}.labels.json`), 'utf8'),
          readFileSync(join(refDir, `${name}.labels.json`), 'utf8'),
        );
      }
      const text = await runCommand(queue, ['status', ...common()]);
      assert.match(text.out, /6 done, 1 failed, 0 waiting, 0 running, 0 waiting to retry/);
      assert.match(text.out, /failed: case_bad .* after 2 tries: .*case_bad\.nii\.gz/);
    });

    it(
      'submit --studies: one job per series of a DICOMweb query; a worker stores its DICOM-SEG in the PACS',
      { skip: ORTHANC_SKIP },
      async (t) => {
        const orthancDir = join(tmp, 'orthanc');
        mkdirSync(orthancDir);
        let orthanc: RunningOrthanc | undefined;
        try {
          orthanc = await startOrthanc(orthancDir);
          const pacs = new DicomWebClient(orthanc.url);
          const seriesDir = fixturePath('dicom', 'series_oblique');
          const files = readdirSync(seriesDir).filter((f) => f.endsWith('.dcm'));
          await pacs.store(files.map((f) => new Uint8Array(readFileSync(join(seriesDir, f)))));
          const [source] = await pacs.searchSeries({ Modality: 'CT' });
          const seriesUid = jsonString(source!, TAG.SeriesInstanceUID)!;
          const studyUid = jsonString(source!, TAG.StudyInstanceUID)!;

          const args = ['--redis', url, '--queue', 'dicomweb'];
          const submit = (query: string) =>
            runCommand(queue, ['submit', '--studies', orthanc!.url, '--query', query, ...args]);
          const none = await submit('Modality=MR');
          assert.match(none.out, /submitted 0 of 0 case\(s\)/);
          const first = await submit('Modality=CT');
          assert.equal(first.code, 0, first.err);
          assert.match(first.out, /submitted 1 of 1 case\(s\)/);
          assert.match(
            (await submit('Modality=CT')).out,
            /submitted 0 of 1 case\(s\) .*\(1 already queued\)/,
          );

          const started = performance.now();
          const worker = startMasam(['queue', 'work', '--model', modelDir, '--threads', '1', ...args]);
          workers.push(worker.child);
          let summary = await status(args);
          const until = Date.now() + 60_000;
          while (summary.done + summary.failed < 1) {
            assert.ok(Date.now() < until, `the DICOMweb job did not finish: ${JSON.stringify(summary)}`);
            await new Promise((r) => setTimeout(r, 250));
            summary = await status(args);
          }
          t.diagnostic(
            `DICOMweb job done ${((performance.now() - started) / 1000).toFixed(1)} s after the worker started`,
          );
          worker.child.kill('SIGTERM');
          const exit = await worker.exited;
          assert.equal(exit.code, 0, exit.stderr);
          assert.deepEqual(summary.failures, []);
          assert.equal(summary.done, 1);
          assert.match(
            exit.stdout,
            new RegExp(`^done ${seriesUid.replace(/\./g, '\\.')} → .*\\(DICOM-SEG\\)$`, 'm'),
          );

          // The SEG is in the source's study and references the source series.
          const segs = await pacs.searchSeries({ Modality: 'SEG' });
          assert.equal(segs.length, 1);
          assert.equal(jsonString(segs[0]!, TAG.StudyInstanceUID), studyUid);
          const [seg] = await pacs.seriesMetadata(studyUid, jsonString(segs[0]!, TAG.SeriesInstanceUID)!);
          const refs = jsonItems(seg!, TAG.ReferencedSeriesSequence).map((r) =>
            jsonString(r, TAG.SeriesInstanceUID),
          );
          assert.deepEqual(refs, [seriesUid]);

          // The same job run again (as when a worker dies between STOW-RS and its ack and the job is
          // retried): the SEG's UIDs derive from its content, so the PACS still holds one SEG instance.
          const again = ['--redis', url, '--queue', 'dicomweb-again'];
          const resubmit = await runCommand(queue, [
            'submit',
            '--studies',
            orthanc!.url,
            '--query',
            'Modality=CT',
            ...again,
          ]);
          assert.match(resubmit.out, /submitted 1 of 1 case\(s\)/);
          const rerun = startMasam(['queue', 'work', '--model', modelDir, '--threads', '1', ...again]);
          workers.push(rerun.child);
          const rerunUntil = Date.now() + 60_000;
          while ((await status(again)).done < 1) {
            assert.ok(Date.now() < rerunUntil, 'the DICOMweb job run again did not finish');
            await new Promise((r) => setTimeout(r, 250));
          }
          rerun.child.kill('SIGTERM');
          assert.equal((await rerun.exited).code, 0);
          const segsAfter = await pacs.searchSeries({ Modality: 'SEG' }, [
            TAG.NumberOfSeriesRelatedInstances,
          ]);
          assert.deepEqual(
            segsAfter.map((s) => [
              jsonString(s, TAG.SeriesInstanceUID),
              jsonString(s, TAG.NumberOfSeriesRelatedInstances),
            ]),
            [[jsonString(segs[0]!, TAG.SeriesInstanceUID), '1']],
          );
          // Submitting everything again: the SEG is no image, the CT is already queued.
          const all = await runCommand(queue, ['submit', '--studies', orthanc.url, ...args]);
          assert.match(all.out, /submitted 0 of 1 case\(s\)/);
          const text = await runCommand(queue, ['status', ...args]);
          assert.match(text.out, /1 done, 0 failed, 0 waiting, 0 running/);
        } finally {
          await stopOrthanc(orthanc);
        }
      },
    );

    it('a usage mistake or an unreachable Redis is a clear error', async () => {
      await assert.rejects(runCommand(queue, ['submit', casesDir, ...common()]), /missing --output/);
      await assert.rejects(runCommand(queue, ['frobnicate']), /unknown action 'frobnicate'/);
      await assert.rejects(
        runCommand(queue, ['submit', '--studies', 'http://127.0.0.1:1/dicom-web', '--output', outDir]),
        /results go to the DICOMweb server; give no folder or --output/,
      );
      await assert.rejects(
        runCommand(queue, ['submit', casesDir, '--output', outDir, '--query', 'Modality=CT']),
        /--query needs --studies/,
      );
      const port = await freePort();
      await assert.rejects(
        runCommand(queue, ['status', '--redis', `redis://127.0.0.1:${port}`]),
        new RegExp(`cannot reach Redis at redis://127.0.0.1:${port}`),
      );
    });
  },
);
