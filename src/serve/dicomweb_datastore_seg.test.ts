// DicomWebDatastore's SEGs against a real PACS (Orthanc with its DICOMweb plugin, test/orthanc.ts): a result
// stored twice is one instance (its UIDs derive from its content), other labels are a second SEG; a saved
// label is a SEG that pydicom reads, referencing its source series, its segments named by the class names,
// listed under its tag so that status() counts the series as completed; labels with no foreground, unknown
// series and uploads are refused. A fake PACS on loopback checks how STOW-RS answers are read: a duplicate
// (FailureReason 0111H) is stored, any other refusal is an error. Without Orthanc (or pydicom, for the
// pydicom check) those tests skip with the reason printed.
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { type Server, createServer } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fixturePath } from '../../test/fixtures.js';
import { type RunningOrthanc, orthancSkipReason, startOrthanc, stopOrthanc } from '../../test/orthanc.js';
import { pydicomSkipReason, runPydicomOnBytes } from '../../test/pydicom.js';
import { parseNifti } from '../io/nifti.js';
import type { Volume } from '../io/volume.js';
import { DicomWebClient, TAG, jsonString } from './dicomweb_client.js';
import { DicomWebDatastore, RESULT_TAG } from './dicomweb_datastore.js';

const SERIES_DIR = fixturePath('dicom', 'series_oblique');
const CLASSES = ['background', 'liver', 'spleen'] as const;

/** A label map on `image`'s grid with `value` at each of `voxels` (linear indices), 0 elsewhere. */
function labelsOn(image: Volume, voxels: readonly [number, number][]): Volume<'uint8'> {
  const shape = image.shape.slice(0, 3);
  const data = new Uint8Array(shape[0]! * shape[1]! * shape[2]!);
  for (const [v, value] of voxels) data[v] = value;
  return { data, dtype: 'uint8', shape, spacing: image.spacing.slice(0, 3), affine: image.affine };
}

describe('DicomWebDatastore SEGs (against Orthanc)', () => {
  const reason = orthancSkipReason();
  if (reason) console.log(`# skip: ${reason}`);
  const tmp = mkdtempSync(join(tmpdir(), 'masam-dicomweb-seg-'));
  let orthanc: RunningOrthanc | undefined;
  let client: DicomWebClient;
  let seriesUid = '';
  let studyUid = '';
  let image: Volume;

  before(async () => {
    if (reason) return;
    orthanc = await startOrthanc(tmp);
    client = new DicomWebClient(orthanc.url);
    const files = readdirSync(SERIES_DIR).filter((f) => f.endsWith('.dcm'));
    await client.store(files.map((f) => new Uint8Array(readFileSync(join(SERIES_DIR, f)))));
    const [source] = await client.searchSeries({ Modality: 'CT' });
    seriesUid = jsonString(source!, TAG.SeriesInstanceUID)!;
    studyUid = jsonString(source!, TAG.StudyInstanceUID)!;
    image = await new DicomWebDatastore(orthanc.url, 'test').readImage(seriesUid);
  });
  after(async () => {
    await stopOrthanc(orthanc);
    rmSync(tmp, { recursive: true, force: true });
  });

  /** The SEG series described `description`, each with its number of instances. */
  async function segSeries(description: string): Promise<{ uid: string; instances: string }[]> {
    const found = await client.searchSeries({ Modality: 'SEG' }, [
      TAG.SeriesDescription,
      TAG.NumberOfSeriesRelatedInstances,
    ]);
    return found
      .filter((s) => jsonString(s, TAG.SeriesDescription) === description)
      .map((s) => ({
        uid: jsonString(s, TAG.SeriesInstanceUID)!,
        instances: jsonString(s, TAG.NumberOfSeriesRelatedInstances) ?? '?',
      }));
  }

  it(
    'storeSeg of the same result twice (another worker, a retry) leaves one SEG instance; other labels a second SEG',
    { skip: reason },
    async () => {
      const labels = labelsOn(image, [
        [5, 1],
        [6, 1],
      ]);
      const first = await new DicomWebDatastore(orthanc!.url, 'test').storeSeg(
        seriesUid,
        labels,
        CLASSES,
        'retried',
      );
      const again = await new DicomWebDatastore(orthanc!.url, 'test').storeSeg(
        seriesUid,
        labels,
        CLASSES,
        'retried',
      );
      assert.equal(again.sopInstanceUID, first.sopInstanceUID);
      assert.equal(again.seriesInstanceUID, first.seriesInstanceUID);
      assert.deepEqual(await segSeries('masam retried'), [{ uid: first.seriesInstanceUID, instances: '1' }]);

      const other = await new DicomWebDatastore(orthanc!.url, 'test').storeSeg(
        seriesUid,
        labelsOn(image, [[7, 2]]),
        CLASSES,
        'retried',
      );
      assert.notEqual(other.seriesInstanceUID, first.seriesInstanceUID);
      const both = await segSeries('masam retried');
      assert.deepEqual(
        both.map((s) => s.uid).sort(),
        [first.seriesInstanceUID, other.seriesInstanceUID].sort(),
      );
      assert.ok(both.every((s) => s.instances === '1'));
    },
  );

  let labelUid = '';
  it(
    'saveLabel stores a SEG of the series, listed under its tag: status() counts the series as completed',
    { skip: reason },
    async () => {
      const store = new DicomWebDatastore(orthanc!.url, 'test');
      const plane = image.shape[0]! * image.shape[1]!;
      const label = labelsOn(image, [
        [10, 1],
        [11, 1],
        [plane + 20, 2],
      ]);
      const before = await store.status();
      assert.equal(before.completed, 0);
      assert.deepEqual(before.label_tags, { [RESULT_TAG]: 1 }); // the storeSeg test's SEGs
      labelUid = await store.saveLabel(seriesUid, 'final', label, CLASSES);
      assert.deepEqual(await segSeries('masam label final'), [{ uid: labelUid, instances: '1' }]);
      assert.equal(await store.saveLabel(seriesUid, 'final', label, CLASSES), labelUid, 'saved again');
      assert.deepEqual(await segSeries('masam label final'), [{ uid: labelUid, instances: '1' }]);

      const objects = await store.objects();
      assert.deepEqual(Object.keys(objects), [seriesUid], 'the SEGs are labels, not images');
      assert.deepEqual(Object.keys(objects[seriesUid]!.labels), ['final', RESULT_TAG]);
      const status = await store.status();
      assert.equal(status.total, 1);
      assert.equal(status.completed, 1);
      assert.deepEqual(status.label_tags, { final: 1, [RESULT_TAG]: 1 });
    },
  );

  it(
    'labelFile answers the newest SEG under a tag as a label NIfTI on the series grid, 404 for a tag with none',
    { skip: reason },
    async () => {
      const store = new DicomWebDatastore(orthanc!.url, 'test');
      const plane = image.shape[0]! * image.shape[1]!;
      const saved = labelsOn(image, [
        [10, 1],
        [11, 1],
        [plane + 20, 2],
      ]);
      const first = parseNifti((await store.labelFile(seriesUid, 'final')).bytes, 'final label');
      assert.deepEqual(first.shape, image.shape.slice(0, 3));
      assert.deepEqual(first.data, saved.data);
      // A corrected label saved a second later (ContentTime has whole seconds) is the one answered.
      await new Promise((ok) => setTimeout(ok, 1100));
      const corrected = labelsOn(image, [[2 * plane + 5, 2]]);
      await store.saveLabel(seriesUid, 'final', corrected, CLASSES);
      assert.deepEqual(
        parseNifti((await store.labelFile(seriesUid, 'final')).bytes, 'newer').data,
        corrected.data,
      );
      await assert.rejects(store.labelFile(seriesUid, 'reviewed'), {
        statusCode: 404,
        message: /has no label tagged 'reviewed' in the PACS/,
      });
    },
  );

  const pyReason = reason ?? pydicomSkipReason();
  if (pyReason && !reason) console.log(`# skip: ${pyReason}`);
  it(
    'pydicom reads the saved label: the source series referenced, its segments named by the class names',
    { skip: pyReason },
    async () => {
      assert.ok(labelUid, 'the label was saved by the test before');
      const [stored] = await client.retrieveSeries(studyUid, labelUid);
      const script = [
        'import sys, pydicom',
        'ds = pydicom.dcmread(sys.argv[1])',
        'print(ds.Modality, ds.SeriesDescription, ds.ReferencedSeriesSequence[0].SeriesInstanceUID, ds.NumberOfFrames)',
        'print("|".join(f"{s.SegmentLabel} {s.SegmentAlgorithmType}" for s in ds.SegmentSequence))',
      ].join('\n');
      const out = runPydicomOnBytes(stored!, script, 'read the saved label');
      assert.equal(
        out.trim(),
        `SEG masam label final ${seriesUid} 2\nliver SEMIAUTOMATIC|spleen SEMIAUTOMATIC`,
      );
    },
  );

  it(
    'refuses a label with no foreground, an unknown series, a long tag and image uploads',
    { skip: reason },
    async () => {
      const store = new DicomWebDatastore(orthanc!.url, 'test');
      const savedBefore = await segSeries('masam label final');
      await assert.rejects(store.saveLabel(seriesUid, 'final', labelsOn(image, []), CLASSES), {
        statusCode: 400,
        message: /no voxel has a foreground class \(liver, spleen\); nothing to save/,
      });
      await assert.rejects(store.saveLabel('1.2.3.4', 'final', labelsOn(image, [[0, 1]]), CLASSES), {
        statusCode: 404,
        message: /image '1\.2\.3\.4': no such series/,
      });
      await assert.rejects(store.saveLabel(seriesUid, 'x'.repeat(53), labelsOn(image, [[0, 1]]), CLASSES), {
        statusCode: 400,
        message: /longer than 52 characters/,
      });
      await assert.rejects(store.addImage('new'), {
        statusCode: 405,
        message: /takes no uploads; send the series to the PACS/,
      });
      assert.deepEqual(await segSeries('masam label final'), savedBefore, 'nothing refused was stored');
    },
  );
});

describe('DicomWebClient.store: how STOW-RS answers are read (a fake PACS on loopback)', () => {
  let server: Server;
  let url = '';
  /** What the fake PACS answers next: HTTP status and DICOM JSON body. */
  let answer: { status: number; body: unknown } = { status: 200, body: {} };

  before(async () => {
    server = createServer((req, res) => {
      req.resume();
      req.on('end', () => {
        res.writeHead(answer.status, { 'content-type': 'application/dicom+json' });
        res.end(JSON.stringify(answer.body));
      });
    });
    await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
    url = `http://127.0.0.1:${(server.address() as { port: number }).port}/dicom-web`;
  });
  after(async () => {
    const closed = new Promise((ok) => server.close(ok));
    server.closeAllConnections(); // fetch keeps its connection alive, which close() would wait for
    await closed;
  });

  const failure = (reason: number) => ({
    '00081198': {
      vr: 'SQ',
      Value: [{ '00081155': { vr: 'UI', Value: ['1.2.3'] }, '00081197': { vr: 'US', Value: [reason] } }],
    },
  });

  it('takes an instance the server already holds (FailureReason 0111H, 409 or 202) as stored', async () => {
    const client = new DicomWebClient(url);
    answer = { status: 409, body: failure(0x0111) };
    await client.store([new Uint8Array(4)]);
    answer = { status: 202, body: failure(0x0111) };
    await client.store([new Uint8Array(4)]);
  });

  it('fails on any other refusal, or a 409 with no reason', async () => {
    const client = new DicomWebClient(url);
    answer = { status: 409, body: failure(0x0110) };
    await assert.rejects(client.store([new Uint8Array(4)]), {
      statusCode: 502,
      message: /refused 1 instance\(s\): 1\.2\.3: reason 272/,
    });
    answer = { status: 202, body: failure(0xa700) };
    await assert.rejects(client.store([new Uint8Array(4)]), { statusCode: 502, message: /reason 42752/ });
    answer = { status: 409, body: {} };
    await assert.rejects(client.store([new Uint8Array(4)]), {
      statusCode: 502,
      message: /409 Conflict, no reason/,
    });
    answer = { status: 400, body: {} };
    await assert.rejects(client.store([new Uint8Array(4)]), { statusCode: 502, message: /HTTP 400/ });
  });
});
