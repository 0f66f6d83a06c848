// masam serve driven the way OHIF's MONAI Label mode drives MONAI Label (Project-MONAI/MONAILabel,
// plugins/ohifv3/extensions/monai-label: services/MonaiLabelClient.js, components/MonaiLabelPanel.tsx,
// actions/AutoSegmentation.tsx and PointPrompts.tsx):
//  - /infer/<model>?image=<id>&output=image with params result_extension '.nrrd', result_dtype 'uint8',
//    result_compress false, restore_label_idx false; the answer is parsed by nrrd-js (the package OHIF
//    uses) and its voxels copied straight into the viewer's labelmap, so they must be in the image's order;
//  - point prompts as params.foreground / params.background lists of [i, j, k] voxel indices;
//  - the viewer's labelmap saved as `label.bin` (raw uint8) with PUT /datastore/label?image=<id>;
//  - all of it from a page on another origin than the server (OHIF is its own web app): the server
//    answers CORS for the origins given, and a real Chromium enforces it.
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { type Server, createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { FastifyInstance } from 'fastify';
import nrrd from 'nrrd-js';
import { exportTinyServedModels, multipartForm, segmentDirect, tinyCt } from '../../test/served_models.js';
import { launchChromium } from '../../test/viewer/browser.js';
import type { OpenedModel } from '../cli/model_files.js';
import { parseNifti, serializeNifti } from '../io/nifti.js';
import type { Volume } from '../io/volume.js';
import type { ServedModel } from './model_runner.js';
import { buildServer } from './server.js';

/** What MonaiLabelClient.infer adds to every request's params. */
const OHIF_RESULT = {
  result_extension: '.nrrd',
  result_dtype: 'uint8',
  result_compress: false,
  restore_label_idx: false,
};

/** nrrd-js's reading of an NRRD answer: its header and its voxels as OHIF takes them (`new Uint8Array`). */
function readNrrd(bytes: ArrayBuffer): { header: ReturnType<typeof nrrd.parse>; voxels: Uint8Array } {
  const parsed = nrrd.parse(bytes);
  return { header: parsed, voxels: new Uint8Array(parsed.buffer) };
}

describe("masam serve for OHIF's MONAI Label mode", () => {
  const tmp = mkdtempSync(join(tmpdir(), 'masam-ohif-'));
  const store = join(tmp, 'store');
  let ct: Volume;
  let opened: OpenedModel[] = [];
  let models: ServedModel[] = [];
  let app: FastifyInstance;
  let url: string;
  /** The "viewer" origin, allowed by --cors-origin, and a page server for Chromium on it. */
  let pages: Server;
  let viewerOrigin: string;

  before(async () => {
    ({ models, opened } = await exportTinyServedModels(join(tmp, 'models')));
    ct = tinyCt();
    mkdirSync(store, { recursive: true });
    writeFileSync(join(store, 'case1.nii.gz'), serializeNifti(ct, { gzip: true }));
    pages = createServer((_req, res) => {
      res.writeHead(200, { 'content-type': 'text/html' }).end('<!doctype html><title>viewer</title>');
    });
    await new Promise<void>((ok) => pages.listen(0, '127.0.0.1', ok));
    viewerOrigin = `http://127.0.0.1:${(pages.address() as AddressInfo).port}`;
    app = await buildServer({ models, datastore: store, corsOrigins: [viewerOrigin], version: 'test' });
    url = await app.listen({ port: 0, host: '127.0.0.1' });
  });
  after(async () => {
    await app?.close();
    pages?.close();
    await Promise.all(opened.map((m) => m.release()));
    rmSync(tmp, { recursive: true, force: true });
  });

  it('answers an automatic /infer as a raw uint8 NRRD that nrrd-js reads voxel for voxel', async () => {
    const res = await fetch(`${url}/infer/auto?image=case1&output=image`, {
      method: 'POST',
      body: multipartForm({ ...OHIF_RESULT }),
    });
    assert.equal(res.status, 200, await res.clone().text());
    assert.equal(res.headers.get('content-type'), 'application/octet-stream');
    assert.match(res.headers.get('content-disposition') ?? '', /filename="label\.nrrd"/);
    const { header, voxels } = readNrrd(await res.arrayBuffer());
    assert.equal(header.type, 'uint8');
    assert.equal(header.encoding, 'raw');
    assert.deepEqual(header.sizes, [40, 36, 6]);
    const expected = await segmentDirect(ct, models, 'auto');
    assert.ok(
      expected.some((v) => v > 0),
      'the tiny model labels some voxels',
    );
    assert.deepEqual(voxels, expected);

    // uint16 (the older OHIF mode's result_dtype), in output=all's multipart answer.
    const all = await fetch(`${url}/infer/auto?image=case1&output=all`, {
      method: 'POST',
      body: multipartForm({ ...OHIF_RESULT, result_dtype: 'uint16' }),
    });
    const parts = await all.formData();
    const image = parts.get('image') as File;
    assert.equal(image.name, 'label.nrrd');
    assert.equal(image.type, 'application/octet-stream');
    const wide = nrrd.parse(await image.arrayBuffer());
    assert.equal(wide.type, 'uint16');
    assert.deepEqual(new Uint16Array(wide.buffer), Uint16Array.from(expected));
    assert.deepEqual(JSON.parse(String(parts.get('params')))['label_names'], { liver: 1, spleen: 2 });

    const bad = await fetch(`${url}/infer/auto?image=case1`, {
      method: 'POST',
      body: multipartForm({ result_extension: '.mha' }),
    });
    assert.equal(bad.status, 400);
    assert.match(((await bad.json()) as { detail: string }).detail, /result_extension must be one of/);
  });

  it("takes OHIF's point clicks on a prompted (deepgrow) model", async () => {
    const params = { ...OHIF_RESULT, foreground: [[15, 15, 2]], background: [[3, 3, 3]] };
    const res = await fetch(`${url}/infer/boxed?image=case1&output=image`, {
      method: 'POST',
      body: multipartForm(params),
    });
    assert.equal(res.status, 200, await res.clone().text());
    const expected = await segmentDirect(ct, models, 'boxed', {
      points: [
        { voxel: [15, 15, 2], label: 1 },
        { voxel: [3, 3, 3], label: 0 },
      ],
    });
    assert.deepEqual(readNrrd(await res.arrayBuffer()).voxels, expected);
  });

  it("saves the viewer's labelmap sent as label.bin on the image's grid, and refuses one of another size", async () => {
    const voxels = new Uint8Array(40 * 36 * 6);
    for (let i = 0; i < voxels.length; i++) voxels[i] = i % 7 === 0 ? 2 : i % 5 === 0 ? 1 : 0;
    const saved = await fetch(`${url}/datastore/label?image=case1`, {
      method: 'PUT',
      body: multipartForm({ label_info: [{ name: 'liver', idx: 1 }] }, { label: [voxels, 'label.bin'] }),
    });
    assert.equal(saved.status, 200, await saved.clone().text());
    const back = parseNifti(
      new Uint8Array(await (await fetch(`${url}/datastore/label?label=case1&tag=final`)).arrayBuffer()),
      'saved label',
    );
    assert.deepEqual(back.shape, [40, 36, 6]);
    assert.deepEqual(back.data, voxels);
    const image = parseNifti(readFileSync(join(store, 'case1.nii.gz')), 'stored image');
    assert.deepEqual(back.affine, image.affine);

    const short = await fetch(`${url}/datastore/label?image=case1`, {
      method: 'PUT',
      body: multipartForm({}, { label: [voxels.subarray(1), 'label.bin'] }),
    });
    assert.equal(short.status, 400);
    assert.match(((await short.json()) as { detail: string }).detail, /8640 bytes\), got 8639 bytes/);
  });

  it('answers CORS preflights for the viewer origin only, and a real Chromium enforces it', async () => {
    const preflight = (origin: string) =>
      fetch(`${url}/infer/auto?image=case1`, {
        method: 'OPTIONS',
        headers: { origin, 'access-control-request-method': 'PUT' },
      });
    const ok = await preflight(viewerOrigin);
    assert.equal(ok.status, 204);
    assert.equal(ok.headers.get('access-control-allow-origin'), viewerOrigin);
    assert.match(ok.headers.get('access-control-allow-methods') ?? '', /PUT/);
    const other = await preflight('http://evil.example');
    assert.equal(other.headers.get('access-control-allow-origin'), null);

    const browser = await launchChromium();
    try {
      const page = await browser.context.newPage();
      // OHIF's sequence from its own origin: /info/, an NRRD result, the labelmap saved as label.bin.
      await page.goto(`${viewerOrigin}/`);
      const fromViewer = await page.evaluate(
        async ({ server, result }) => {
          const info = await (await fetch(`${server}/info/`)).json();
          const body = new FormData();
          body.append('params', JSON.stringify(result));
          const infer = await fetch(`${server}/infer/auto?image=case1&output=image`, {
            method: 'POST',
            body,
          });
          const labels = Array.from(new Uint8Array(await infer.arrayBuffer()));
          const save = new FormData();
          save.append('params', JSON.stringify({}));
          save.append('label', new Blob([new Uint8Array(40 * 36 * 6).fill(1)]), 'label.bin');
          const saved = await fetch(`${server}/datastore/label?image=case1`, { method: 'PUT', body: save });
          return { models: Object.keys(info.models), status: infer.status, labels, saved: saved.status };
        },
        { server: url, result: OHIF_RESULT },
      );
      assert.deepEqual(fromViewer.models, ['auto', 'boxed']);
      assert.equal(fromViewer.status, 200);
      assert.equal(fromViewer.saved, 200);
      assert.deepEqual(
        readNrrd(Uint8Array.from(fromViewer.labels).buffer).voxels,
        await segmentDirect(ct, models, 'auto'),
      );

      // The same page served from an origin not allowed: the browser refuses to hand over the answer.
      await page.goto(`${viewerOrigin.replace('127.0.0.1', 'localhost')}/`);
      const elsewhere = await page.evaluate(async (server) => {
        try {
          await fetch(`${server}/info/`);
          return 'read';
        } catch (err) {
          return String(err);
        }
      }, url);
      assert.match(elsewhere, /TypeError: Failed to fetch/);
    } finally {
      await browser.close();
    }
  });
});
