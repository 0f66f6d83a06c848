// masam serve --studies against a real PACS: Orthanc with its DICOMweb plugin (Debian packages orthanc and
// orthanc-dicomweb), started here on loopback with free ports and a throw-away storage folder, fed the
// oblique CT series fixture through our STOW-RS client. Checks: /datastore lists the series (QIDO-RS), /infer
// on it (WADO-RS) gives the labels of the same model run on the series read from disk, and output=dicom_seg
// stores a SEG that QIDO-RS finds and pydicom reads with the source series in its ReferencedSeriesSequence,
// and only one however often it is asked; a label saved as Slicer saves it is a SEG listed as 'final'.
// Without Orthanc (or pydicom, for that last check) the tests skip with the reason printed.
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { FastifyInstance } from 'fastify';
import { fixturePath } from '../../test/fixtures.js';
import { startMasam } from '../../test/cli_process.js';
import { type RunningOrthanc, orthancSkipReason, startOrthanc, stopOrthanc } from '../../test/orthanc.js';
import { pydicomSkipReason, runPydicomOnBytes } from '../../test/pydicom.js';
import { TINY_OVERRIDES } from '../../test/tiny_model.js';
import { loadMaSam } from '../api/model.js';
import { openServedModels } from '../cli/commands/serve.js';
import type { OpenedModel } from '../cli/model_files.js';
import { readVolume } from '../cli/volume_files.js';
import { VolumeSegmenter } from '../infer/segment.js';
import { parseNifti, serializeNifti } from '../io/nifti.js';
import { DicomWebClient, TAG, jsonString } from './dicomweb_client.js';
import type { ServedModel } from './model_runner.js';
import { buildServer } from './server.js';

const SERIES_DIR = fixturePath('dicom', 'series_oblique');

describe('masam serve --studies (DICOMweb, against Orthanc)', () => {
  const reason = orthancSkipReason();
  if (reason) console.log(`# skip: ${reason}`);
  const tmp = mkdtempSync(join(tmpdir(), 'masam-dicomweb-'));
  let orthanc: RunningOrthanc | undefined;
  let app: FastifyInstance | undefined;
  let serveUrl = '';
  let opened: OpenedModel[] = [];
  let models: ServedModel[] = [];
  let client: DicomWebClient;
  let seriesUid = '';
  let studyUid = '';
  let segUid = '';

  before(async () => {
    if (reason) return;
    orthanc = await startOrthanc(tmp);
    client = new DicomWebClient(orthanc.url);
    const files = readdirSync(SERIES_DIR).filter((f) => f.endsWith('.dcm'));
    await client.store(files.map((f) => new Uint8Array(readFileSync(join(SERIES_DIR, f)))));
    const model = await loadMaSam({
      config: { preset: 'small', img_size: 32, num_classes: 2, ...TINY_OVERRIDES },
      seed: 3,
    });
    const common = {
      slices: 3,
      classNames: ['background', 'liver', 'spleen'],
      preprocessing: { modality: 'ct' as const },
    };
    await model.exportSplit(join(tmp, 'models', 'auto'), common);
    ({ models, opened } = await openServedModels(join(tmp, 'models'), 1));
    app = await buildServer({
      models,
      datastore: join(tmp, 'unused'),
      studies: orthanc.url,
      version: 'test',
    });
    serveUrl = await app.listen({ port: 0, host: '127.0.0.1' });
  });
  after(async () => {
    await app?.close();
    await Promise.all(opened.map((m) => m.release()));
    await stopOrthanc(orthanc);
    rmSync(tmp, { recursive: true, force: true });
  });

  it('/datastore lists the series stored in Orthanc (QIDO-RS)', { skip: reason }, async () => {
    const [found] = await client.searchSeries({ Modality: 'CT' });
    assert.ok(found, 'the fixture series is in Orthanc');
    seriesUid = jsonString(found, TAG.SeriesInstanceUID)!;
    studyUid = jsonString(found, TAG.StudyInstanceUID)!;
    const res = await fetch(`${serveUrl}/datastore/?output=all`);
    assert.equal(res.status, 200, await res.clone().text());
    const body = (await res.json()) as {
      objects: Record<string, { image: { info: Record<string, unknown> }; labels: object }>;
    };
    assert.deepEqual(Object.keys(body.objects), [seriesUid]);
    assert.equal(body.objects[seriesUid]!.image.info['StudyInstanceUID'], studyUid);
    assert.deepEqual(body.objects[seriesUid]!.labels, {});
    const missing = await fetch(`${serveUrl}/infer/auto?image=1.2.3.4&output=image`, { method: 'POST' });
    assert.equal(missing.status, 404);
  });

  it('the CLI, masam serve --studies <URL>, lists the same series', { skip: reason }, async () => {
    const proc = startMasam([
      'serve',
      '--models',
      join(tmp, 'models'),
      '--studies',
      orthanc!.url,
      '--port',
      '0',
      '--threads',
      '1',
    ]);
    let stdout = '';
    proc.child.stdout!.on('data', (d: Buffer) => {
      stdout += d.toString();
    });
    try {
      const deadline = Date.now() + 30_000;
      let url: string | undefined;
      for (;;) {
        url = /masam serve: (http:\/\/\S+)/.exec(stdout)?.[1];
        if (url) break;
        if (proc.child.exitCode !== null || Date.now() > deadline)
          assert.fail(`masam serve did not start: ${stdout}`);
        await new Promise((r) => setTimeout(r, 100));
      }
      const body = (await (await fetch(`${url}/datastore/?output=all`)).json()) as { objects: object };
      assert.deepEqual(Object.keys(body.objects), [seriesUid]);
    } finally {
      proc.child.kill('SIGTERM');
    }
    const exit = await proc.exited;
    assert.equal(exit.code, 0, exit.stderr);
  });

  it(
    '/infer on a series id (WADO-RS) equals the model run on the series read from disk',
    { skip: reason },
    async () => {
      const res = await fetch(`${serveUrl}/infer/auto?image=${seriesUid}&output=image`, { method: 'POST' });
      assert.equal(res.status, 200, await res.clone().text());
      const served = parseNifti(new Uint8Array(await res.arrayBuffer()), 'answer');
      const fromDisk = await readVolume(SERIES_DIR);
      const direct = await new VolumeSegmenter(fromDisk, models[0]!.model).segment({});
      assert.deepEqual(served.shape, direct.labels.shape);
      assert.deepEqual(served.data, direct.labels.data);
      assert.ok(new Set(direct.labels.data).size > 1, 'the tiny model finds more than one class here');
    },
  );

  it(
    'output=dicom_seg stores a SEG referencing the source series (STOW-RS), found again by QIDO-RS',
    { skip: reason },
    async () => {
      const res = await fetch(`${serveUrl}/infer/auto?image=${seriesUid}&output=dicom_seg`, {
        method: 'POST',
      });
      assert.equal(res.status, 200, await res.clone().text());
      assert.equal(res.headers.get('content-type'), 'application/dicom');
      const segs = await client.searchSeries({ Modality: 'SEG' });
      assert.equal(segs.length, 1);
      assert.equal(jsonString(segs[0]!, TAG.StudyInstanceUID), studyUid);
      segUid = jsonString(segs[0]!, TAG.SeriesInstanceUID)!;
      const listing = (await (await fetch(`${serveUrl}/datastore/?output=all`)).json()) as {
        objects: Record<string, { labels: object }>;
      };
      assert.deepEqual(Object.keys(listing.objects), [seriesUid], 'the SEG is a label, not an image');
      assert.deepEqual(Object.keys(listing.objects[seriesUid]!.labels), ['original']);
    },
  );

  const pyReason = reason ?? pydicomSkipReason();
  if (pyReason && !reason) console.log(`# skip: ${pyReason}`);
  it(
    'pydicom reads the stored SEG: its ReferencedSeriesSequence names the source series',
    { skip: pyReason },
    async () => {
      assert.ok(segUid, 'the SEG was stored by the test before');
      const [stored] = await client.retrieveSeries(studyUid, segUid);
      const script = [
        'import sys, pydicom',
        'ds = pydicom.dcmread(sys.argv[1])',
        'print(ds.Modality, ds.StudyInstanceUID, ds.ReferencedSeriesSequence[0].SeriesInstanceUID, len(ds.ReferencedSeriesSequence[0].ReferencedInstanceSequence))',
      ].join('\n');
      const out = runPydicomOnBytes(stored!, script, 'read the stored SEG');
      const files = readdirSync(SERIES_DIR).filter((f) => f.endsWith('.dcm'));
      assert.equal(out.trim(), `SEG ${studyUid} ${seriesUid} ${files.length}`);
    },
  );

  it(
    'the same output=dicom_seg request again leaves one SEG: its UIDs derive from the labels',
    { skip: reason },
    async () => {
      assert.ok(segUid, 'the SEG was stored by the test before');
      const res = await fetch(`${serveUrl}/infer/auto?image=${seriesUid}&output=dicom_seg`, {
        method: 'POST',
      });
      assert.equal(res.status, 200, await res.clone().text());
      const segs = await client.searchSeries({ Modality: 'SEG' }, [TAG.NumberOfSeriesRelatedInstances]);
      assert.deepEqual(
        segs.map((s) => [
          jsonString(s, TAG.SeriesInstanceUID),
          jsonString(s, TAG.NumberOfSeriesRelatedInstances),
        ]),
        [[segUid, '1']],
      );
    },
  );

  it(
    'PUT /datastore/label as Slicer sends it: a SEG in the PACS, listed as final; /activelearning skips the series',
    { skip: reason },
    async () => {
      const image = await readVolume(SERIES_DIR);
      const data = new Uint8Array(image.data.length);
      data.fill(1, 0, 40);
      data.fill(2, 40, 50);
      const body = new FormData();
      body.set(
        'params',
        JSON.stringify({
          label_info: [
            { name: 'liver', idx: 1 },
            { name: 'spleen', idx: 2 },
          ],
        }),
      );
      const nifti = serializeNifti({ ...image, dtype: 'uint8', data }, { gzip: true });
      body.set('label', new Blob([new Uint8Array(nifti)]), 'label.nii.gz');
      const next = `${serveUrl}/activelearning/first`;
      assert.deepEqual(await (await fetch(next, { method: 'POST' })).json(), {
        id: seriesUid,
        name: `${seriesUid}.dcm`,
      });
      const res = await fetch(`${serveUrl}/datastore/label?image=${seriesUid}&tag=final`, {
        method: 'PUT',
        body,
      });
      assert.equal(res.status, 200, await res.clone().text());
      const saved = ((await res.json()) as { label: string }).label;
      const segs = await client.searchSeries({ Modality: 'SEG' }, [TAG.SeriesDescription]);
      assert.deepEqual(
        segs.map((s) => [jsonString(s, TAG.SeriesInstanceUID), jsonString(s, TAG.SeriesDescription)]).sort(),
        [
          [segUid, 'masam auto'],
          [saved, 'masam label final'],
        ].sort(),
      );
      const listing = (await (await fetch(`${serveUrl}/datastore/?output=all`)).json()) as {
        objects: Record<string, { labels: object }>;
      };
      assert.deepEqual(Object.keys(listing.objects[seriesUid]!.labels), ['final', 'original']);
      const stats = (await (await fetch(`${serveUrl}/datastore/?output=stats`)).json()) as {
        completed: number;
      };
      assert.equal(stats.completed, 1);
      assert.deepEqual(await (await fetch(next, { method: 'POST' })).json(), {}, 'nothing left to label');
      // Slicer's label download: the SEG read back onto the series' grid.
      const back = await fetch(`${serveUrl}/datastore/label?label=${seriesUid}&tag=final`);
      assert.equal(back.status, 200);
      const label = parseNifti(new Uint8Array(await back.arrayBuffer()), 'downloaded label');
      assert.deepEqual(label.shape, image.shape.slice(0, 3));
      assert.deepEqual(label.data, data);
    },
  );
});
