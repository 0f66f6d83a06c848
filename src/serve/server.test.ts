// masam serve end to end: a real server on 127.0.0.1 (ephemeral port) driven over HTTP the way 3D Slicer's
// MONAILabel module drives MONAI Label — /info, automatic and box-prompted /infer, the datastore, sessions —
// plus the refusals (unknown model, malformed multipart, path traversal, oversized body, missing token) and
// 20 concurrent /infer requests on the bundled demo model. Labels are checked against VolumeSegmenter run
// directly on the same models.
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { STATUS_CODES } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { FastifyInstance } from 'fastify';
import { exportTinyServedModels, multipartForm, segmentDirect, tinyCt } from '../../test/served_models.js';
import { openServedModels } from '../cli/commands/serve.js';
import type { OpenedModel } from '../cli/model_files.js';
import { Rng } from '../core/rng.js';
import { ctPhantom } from '../data/phantom.js';
import { parseNifti, serializeNifti } from '../io/nifti.js';
import type { Volume } from '../io/volume.js';
import type { ServedModel } from './model_runner.js';
import { type ServeOptions, buildServer } from './server.js';

interface InfoAnswer {
  name: string;
  labels: string[];
  models: Record<string, { type: string; labels: Record<string, number>; dimension: number }>;
  strategies: Record<string, unknown>;
}
interface DatastoreAnswer {
  objects: Record<string, { image: { ext: string }; labels: Record<string, unknown> }>;
}

interface Running {
  readonly app: FastifyInstance;
  readonly url: string;
}

async function start(options: Omit<ServeOptions, 'version'>): Promise<Running> {
  const app = await buildServer({ ...options, version: 'test' });
  const url = await app.listen({ port: 0, host: '127.0.0.1' });
  return { app, url };
}

/** The `params` JSON and the label map of a multipart /infer answer. */
async function multipartAnswer(res: Response): Promise<{ params: Record<string, unknown>; labels: Volume }> {
  assert.equal(res.status, 200, await res.clone().text());
  assert.match(res.headers.get('content-type') ?? '', /^multipart\/form-data; boundary=/);
  const parts = await res.formData();
  const params = JSON.parse(String(parts.get('params')));
  const image = parts.get('image') as File;
  assert.equal(image.name, 'label.nii.gz');
  return { params, labels: parseNifti(new Uint8Array(await image.arrayBuffer()), 'answer') };
}

async function errorOf(res: Response, status: number): Promise<string> {
  assert.equal(res.status, status);
  assert.match(res.headers.get('content-type') ?? '', /application\/json/);
  const body = (await res.json()) as { error: string; detail: string };
  assert.equal(body.error, STATUS_CODES[status]);
  assert.equal(typeof body.detail, 'string');
  return body.detail;
}

describe('masam serve (MONAI Label protocol)', () => {
  const tmp = mkdtempSync(join(tmpdir(), 'masam-serve-'));
  const modelsDir = join(tmp, 'models');
  const store = join(tmp, 'store');
  let ct: Volume;
  let ctBytes: Uint8Array;
  let opened: OpenedModel[] = [];
  let models: ServedModel[] = [];
  let server: Running;
  const servers: Running[] = [];

  before(async () => {
    ({ models, opened } = await exportTinyServedModels(modelsDir));
    ct = tinyCt();
    ctBytes = serializeNifti(ct, { gzip: true });
    server = await start({ models, datastore: store, maxBodyBytes: 1024 * 1024 });
    servers.push(server);
  });
  after(async () => {
    for (const s of servers) await s.app.close();
    await Promise.all(opened.map((m) => m.release()));
    rmSync(tmp, { recursive: true, force: true });
  });

  it('GET /info/ lists each model with its type and class names', async () => {
    const info = (await (await fetch(`${server.url}/info/`)).json()) as InfoAnswer;
    assert.equal(info.name, 'masam');
    assert.deepEqual(info.labels, ['liver', 'spleen']);
    assert.deepEqual(Object.keys(info.models), ['auto', 'boxed']);
    assert.equal(info.models.auto.type, 'segmentation');
    assert.equal(info.models.boxed.type, 'deepgrow');
    assert.deepEqual(info.models.auto.labels, { liver: 1, spleen: 2 });
    assert.equal(info.models.boxed.dimension, 3);
    assert.deepEqual(Object.keys(info.strategies), ['first', 'random']);
  });

  it('uploads an image, lists it, and segments it by id (multipart answer) and as an uploaded file', async () => {
    const up = await fetch(`${server.url}/datastore/?image=case1`, {
      method: 'PUT',
      body: multipartForm({}, { file: [ctBytes, 'x.nii.gz'] }),
    });
    assert.equal(up.status, 200);
    assert.deepEqual(await up.json(), { image: 'case1' });
    const all = (await (await fetch(`${server.url}/datastore/?output=all`)).json()) as DatastoreAnswer;
    assert.deepEqual(all.objects, { case1: { image: { ext: '.nii.gz', info: {} }, labels: {} } });

    const expected = await segmentDirect(ct, models, 'auto');
    const byId = await multipartAnswer(
      await fetch(`${server.url}/infer/auto?image=case1`, {
        method: 'POST',
        body: multipartForm({ client_id: 'slicer' }),
      }),
    );
    assert.deepEqual(byId.labels.shape, ct.shape);
    assert.deepEqual(byId.labels.data, expected);
    assert.deepEqual(byId.params['label_names'], { liver: 1, spleen: 2 });
    assert.equal(typeof (byId.params['latencies'] as Record<string, number>)['infer'], 'number');

    const uploaded = await fetch(`${server.url}/infer/auto?output=image`, {
      method: 'POST',
      body: multipartForm({}, { file: [ctBytes, 'ct.nii.gz'] }),
    });
    assert.equal(uploaded.status, 200);
    assert.deepEqual(parseNifti(new Uint8Array(await uploaded.arrayBuffer()), 'answer').data, expected);

    // Slicer's Next Sample: an unlabelled image, downloaded from /datastore/image under `name`.
    const next = (await (
      await fetch(`${server.url}/activelearning/first`, {
        method: 'POST',
        body: JSON.stringify({ client_id: 'x' }),
        headers: { 'content-type': 'application/json' },
      })
    ).json()) as Record<string, string>;
    assert.deepEqual(next, { id: 'case1', name: 'case1.nii.gz' });
    const image = await fetch(`${server.url}/datastore/image?image=case1`);
    assert.deepEqual(new Uint8Array(await image.arrayBuffer()), ctBytes);
    await errorOf(await fetch(`${server.url}/activelearning/best`, { method: 'POST' }), 404);

    const json = await fetch(`${server.url}/infer/auto?image=case1&output=json`, {
      method: 'POST',
      body: multipartForm({}),
    });
    assert.equal(((await json.json()) as Record<string, unknown>)['model'], 'auto');
  });

  it("segments with Slicer's ROI and points on a box-prompted model, then re-runs only the decoder", async () => {
    // Slicer's roi: [i_min, i_max, j_min, j_max, k_min, k_max], a pair possibly reversed by RAS→IJK.
    const params = { label: 'liver', roi: [30, 8, 4, 25, 1, 3], foreground: [[15, 15, 2]], background: [] };
    const expected = await segmentDirect(ct, models, 'boxed', {
      box3d: [8, 4, 1, 30, 25, 3],
      points: [{ voxel: [15, 15, 2], label: 1 }],
    });
    const first = await multipartAnswer(
      await fetch(`${server.url}/infer/boxed?image=case1`, { method: 'POST', body: multipartForm(params) }),
    );
    assert.deepEqual(first.labels.data, expected);
    const plane = 40 * 36;
    for (const k of [0, 4, 5])
      assert.ok(first.labels.data.subarray(k * plane, (k + 1) * plane).every((v) => v === 0));
    assert.ok((first.params['encoded_stacks'] as number) > 0);
    const again = await multipartAnswer(
      await fetch(`${server.url}/infer/boxed?image=case1`, {
        method: 'POST',
        body: multipartForm({ ...params, foreground: [] }),
      }),
    );
    assert.equal(again.params['encoded_stacks'], 0);
    assert.ok((again.params['decoded_images'] as number) > 0);
    assert.deepEqual(
      again.labels.data,
      await segmentDirect(ct, models, 'boxed', { box3d: [8, 4, 1, 30, 25, 3] }),
    );

    const none = await fetch(`${server.url}/infer/boxed?image=case1`, {
      method: 'POST',
      body: multipartForm({ label: 'liver' }),
    });
    assert.match(await errorOf(none, 400), /box-prompted/);
    const outside = await fetch(`${server.url}/infer/boxed?image=case1`, {
      method: 'POST',
      body: multipartForm({ foreground: [[99, 1, 1]] }),
    });
    assert.match(await errorOf(outside, 400), /not a voxel index/);
  });

  it('saves a label under a tag and refuses one of another grid', async () => {
    const label = serializeNifti(
      { ...ct, dtype: 'uint8', data: new Uint8Array(ct.data.length).fill(1) },
      { gzip: true },
    );
    const ok = await fetch(`${server.url}/datastore/label?image=case1&tag=final`, {
      method: 'PUT',
      body: multipartForm({ label_info: [] }, { label: [label, 'label.nii.gz'] }),
    });
    assert.equal(ok.status, 200, await ok.clone().text());
    assert.deepEqual(await ok.json(), { image: 'case1', label: 'case1' });
    const all = (await (await fetch(`${server.url}/datastore/?output=all`)).json()) as DatastoreAnswer;
    assert.deepEqual(all.objects.case1.labels, { final: { ext: '.nii.gz', info: {} } });
    const back = await fetch(`${server.url}/datastore/label?label=case1&tag=final`);
    const stored = parseNifti(new Uint8Array(await back.arrayBuffer()), 'stored label');
    assert.deepEqual(stored.data, new Uint8Array(ct.data.length).fill(1));
    assert.deepEqual(stored.affine, parseNifti(ctBytes, 'image').affine); // as stored: float32
    await errorOf(await fetch(`${server.url}/datastore/label?label=case1&tag=original`), 404);
    // Labelled now: Next Sample has nothing left.
    assert.deepEqual(
      await (await fetch(`${server.url}/activelearning/random`, { method: 'POST' })).json(),
      {},
    );
    const stats = (await (await fetch(`${server.url}/datastore/`)).json()) as Record<string, unknown>;
    assert.deepEqual(stats, { total: 1, completed: 1, label_tags: { final: 1 } });
    const small = ctPhantom(new Rng(1), { size: [8, 8, 3] }).label;
    const wrong = await fetch(`${server.url}/datastore/label?image=case1`, {
      method: 'PUT',
      body: multipartForm({}, { label: [serializeNifti(small), 'l.nii'] }),
    });
    assert.match(await errorOf(wrong, 400), /grid/);
  });

  it('creates a session, segments it by session id, and forgets it when deleted', async () => {
    const body = new FormData();
    body.append('files', new Blob([new Uint8Array(ctBytes)]), 'ct.nii.gz');
    const made = (await (await fetch(`${server.url}/session/`, { method: 'PUT', body })).json()) as Record<
      string,
      string
    >;
    const id = made['session_id']!;
    assert.equal((await fetch(`${server.url}/session/${id}`)).status, 200);
    const answer = await multipartAnswer(
      await fetch(`${server.url}/infer/auto?image=any&session_id=${id}`, {
        method: 'POST',
        body: multipartForm({}),
      }),
    );
    assert.deepEqual(answer.labels.data, await segmentDirect(ct, models, 'auto'));
    assert.equal((await fetch(`${server.url}/session/${id}`, { method: 'DELETE' })).status, 200);
    await errorOf(await fetch(`${server.url}/session/${id}`), 404);
  });

  it('refuses bad requests with 4xx JSON and keeps serving', async () => {
    assert.match(
      await errorOf(
        await fetch(`${server.url}/infer/nope?image=case1`, { method: 'POST', body: multipartForm({}) }),
        404,
      ),
      /unknown model 'nope'/,
    );
    const broken = await fetch(`${server.url}/infer/auto?image=case1`, {
      method: 'POST',
      headers: { 'content-type': 'multipart/form-data; boundary=xyz' },
      body: '--xyz\r\nContent-Disposition: form-data; name="params"\r\n\r\n{"a":',
    });
    assert.match(await errorOf(broken, 400), /multipart|params/);
    assert.match(
      await errorOf(
        await fetch(`${server.url}/infer/auto?image=case1`, { method: 'POST', body: multipartForm([1]) }),
        400,
      ),
      /JSON object/,
    );
    const notNifti = await fetch(`${server.url}/infer/auto`, {
      method: 'POST',
      body: multipartForm({}, { file: [new Uint8Array(400), 'x.nii'] }),
    });
    assert.match(await errorOf(notNifti, 400), /not a readable NIfTI/);
    // Path traversal in ids: refused before any path is made.
    for (const id of ['../evil', '..', 'a/b', '.hidden', 'a\\b']) {
      const up = await fetch(`${server.url}/datastore/?image=${encodeURIComponent(id)}`, {
        method: 'PUT',
        body: multipartForm({}, { file: [ctBytes, 'x.nii.gz'] }),
      });
      assert.match(await errorOf(up, 400), /not a valid id/);
      const inf = await fetch(`${server.url}/infer/auto?image=${encodeURIComponent(id)}`, {
        method: 'POST',
        body: multipartForm({}),
      });
      assert.match(await errorOf(inf, 400), /not a valid id/);
    }
    const tagged = await fetch(`${server.url}/datastore/label?image=case1&tag=..%2F..%2Fx`, {
      method: 'PUT',
      body: multipartForm({}, { label: [ctBytes, 'l.nii.gz'] }),
    });
    assert.match(await errorOf(tagged, 400), /tag/);
    assert.ok(!existsSync(join(tmp, 'evil.nii.gz')) && !existsSync(join(tmp, 'x.nii.gz')));
    assert.deepEqual(readdirSync(store).sort(), ['case1.nii.gz', 'labels']);
    // Over the 1 MiB body limit: 413, as a file and as a JSON body.
    const big = await fetch(`${server.url}/datastore/?image=big`, {
      method: 'PUT',
      body: multipartForm({}, { file: [new Uint8Array(2 * 1024 * 1024), 'big.nii'] }),
    });
    await errorOf(big, 413);
    const bigJson = await fetch(`${server.url}/infer/auto?image=case1`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ pad: 'x'.repeat(2 * 1024 * 1024) }),
    });
    await errorOf(bigJson, 413);
    await errorOf(
      await fetch(`${server.url}/infer/auto?image=case1&output=dicom_seg`, {
        method: 'POST',
        body: multipartForm({}),
      }),
      400,
    );
    await errorOf(await fetch(`${server.url}/nothing`), 404);
    assert.equal((await fetch(`${server.url}/info/`)).status, 200);
  });

  it('with --token: refuses requests without the bearer token; /auth/token hands it out for the password', async () => {
    const guarded = await start({ models, datastore: store, token: 's3cret' });
    servers.push(guarded);
    await errorOf(await fetch(`${guarded.url}/info/`), 401);
    await errorOf(await fetch(`${guarded.url}/info/`, { headers: { authorization: 'Bearer wrong' } }), 401);
    assert.equal(
      (await fetch(`${guarded.url}/info/`, { headers: { authorization: 'Bearer s3cret' } })).status,
      200,
    );
    assert.deepEqual(await (await fetch(`${guarded.url}/auth/`)).json(), { enabled: true });
    const login = (u: string, p: string) =>
      fetch(`${guarded.url}/auth/token`, {
        method: 'POST',
        body: new URLSearchParams({ username: u, password: p, grant_type: 'password' }),
      });
    assert.equal((await login('me', 'nope')).status, 401);
    assert.deepEqual(await (await login('me', 's3cret')).json(), {
      access_token: 's3cret',
      token_type: 'bearer',
    });
  });

  it('answers 504 when inference outlasts the time limit', async () => {
    const slow = await start({ models, datastore: store, timeoutSeconds: 0.001 });
    servers.push(slow);
    const res = await fetch(`${slow.url}/infer/auto`, {
      method: 'POST',
      body: multipartForm({}, { file: [ctBytes, 'ct.nii.gz'] }),
    });
    assert.match(await errorOf(res, 504), /longer than/);
  });
});

describe('masam serve: 20 concurrent /infer requests on the demo model', () => {
  it('answers every one, with the same labels, one model run at a time', async () => {
    const { models: demo, opened } = await openServedModels('models/demo', 1);
    // The demo model, counting how many of its runs overlap.
    let active = 0;
    let mostActive = 0;
    const inner = demo[0]!.model;
    const counted = Object.create(inner) as typeof inner;
    Object.assign(counted, {
      logits: async (...args: Parameters<typeof inner.logits>) => {
        mostActive = Math.max(mostActive, ++active);
        try {
          return await inner.logits(...args);
        } finally {
          active--;
        }
      },
    });
    const models = [{ ...demo[0]!, model: counted }];
    const tmp = mkdtempSync(join(tmpdir(), 'masam-serve-demo-'));
    const s = await start({ models, datastore: tmp });
    try {
      assert.deepEqual(
        models.map((m) => m.name),
        ['demo'],
      );
      const bytes = serializeNifti(ctPhantom(new Rng(9), { size: [48, 48, 3] }).image, { gzip: true });
      const started = performance.now();
      const answers = await Promise.all(
        Array.from({ length: 20 }, () =>
          fetch(`${s.url}/infer/demo?output=image`, {
            method: 'POST',
            body: multipartForm({}, { file: [bytes, 'ct.nii.gz'] }),
          }),
        ),
      );
      const labels = await Promise.all(
        answers.map(async (r) => {
          assert.equal(r.status, 200, await r.clone().text());
          return parseNifti(new Uint8Array(await r.arrayBuffer()), 'answer').data;
        }),
      );
      for (const l of labels) assert.deepEqual(l, labels[0]);
      assert.equal(mostActive, 1);
      console.log(
        `20 concurrent /infer (demo model, 48×48×3): ${((performance.now() - started) / 1000).toFixed(2)} s`,
      );
    } finally {
      await s.app.close();
      await Promise.all(opened.map((m) => m.release()));
      rmSync(tmp, { recursive: true, force: true });
    }
  });
});
