// `masam serve`'s HTTP server (fastify + @fastify/multipart): the part of the MONAI Label REST protocol
// that 3D Slicer's MONAILabel module and OHIF's MONAI Label mode call, learnt from MONAI Label's server
// (monailabel/endpoints/{info,infer,datastore,session}.py) and clients (monailabel/client/client.py,
// plugins/slicer/MONAILabel/MONAILabelLib/client.py, plugins/ohifv3/.../MonaiLabelClient.js):
//   GET  /info/                          app name, version, labels, one entry per model
//   POST /infer/{model}?image=&session_id=&output=image|json|all|dicom_seg   multipart `params` (+ `file`)
//        or JSON; the label map as NIfTI or NRRD (params.result_extension, result_file.ts); dicom_seg (a
//        --studies datastore) also stores the result in the PACS through STOW-RS
//   GET  /datastore/?output=all|stats     PUT /datastore/?image= (also /datastore/image)
//   GET  /datastore/image?image=          PUT /datastore/label?image=&tag=  (.nii(.gz), .nrrd, OHIF's .bin)
//   GET  /datastore/label?label=&tag=     POST /activelearning/{first|random}   (Slicer's "Next Sample")
//   PUT  /session/   GET|DELETE /session/{id}
//   GET  /auth/, POST /auth/token, GET /auth/token/valid   (the bearer token of --token)
// With corsOrigins, pages of those web origins (an OHIF viewer) may call it from the browser.
// Every refusal is a 4xx JSON body `{"error", "detail"}`; a failure inside is a 500 of the same shape and
// never takes the server down.
import { createHash, timingSafeEqual } from 'node:crypto';
import { STATUS_CODES } from 'node:http';
import cors from '@fastify/cors';
import multipart from '@fastify/multipart';
import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import { MasamError } from '../core/errors.js';
import { promptsForVolume } from '../infer/prompts.js';
import type { Volume } from '../io/volume.js';
import { type Datastore, FINAL_TAG, LocalDatastore, checkId, parseUploadedNifti } from './datastore.js';
import { DicomWebDatastore } from './dicomweb_datastore.js';
import { hasPrompts, promptsFromParams } from './infer_params.js';
import { ModelRunner, type ServedModel } from './model_runner.js';
import { type ResultFile, resultFile, resultFormat } from './result_file.js';
import { ServeError } from './serve_error.js';
import { SessionStore } from './sessions.js';
import { readUploadedLabel } from './uploaded_label.js';

export interface ServeOptions {
  readonly models: readonly ServedModel[];
  /** The datastore folder (unused with `studies`). */
  readonly datastore: string;
  /** A DICOMweb server's base URL: the datastore is its series (dicomweb_datastore.ts). */
  readonly studies?: string;
  /**
   * Web origins (e.g. an OHIF viewer's `https://ohif.example.org`, or '*') whose pages may call the server
   * (CORS); none by default, so a page elsewhere cannot read results.
   */
  readonly corsOrigins?: readonly string[];
  /** Requests must carry `Authorization: Bearer <token>` (all but /auth/ and /auth/token). */
  readonly token?: string;
  /** Largest request body (and uploaded file), bytes; default 512 MiB. */
  readonly maxBodyBytes?: number;
  /** Largest decompressed NIfTI accepted, bytes; default 2 GiB. */
  readonly maxNiftiBytes?: number;
  /** Seconds one /infer may take, waiting included; default 300. */
  readonly timeoutSeconds?: number;
  /** Requests waiting per model before 503; default 64. */
  readonly maxQueued?: number;
  /** (model, image) segmenters kept; default 8. */
  readonly cacheSize?: number;
  /** Shown in /info/. */
  readonly version: string;
}

/** Active-learning strategies: which unlabelled image (no "final" label) Slicer's Next Sample gets. */
const STRATEGIES: Readonly<Record<string, string>> = {
  first: 'the first unlabelled image, by id',
  random: 'a random unlabelled image',
};

/** A multipart request body: its text fields and its files (in memory, each under the body limit). */
interface Form {
  readonly fields: Record<string, string>;
  readonly files: Record<string, { filename: string; bytes: Buffer }>;
}

/**
 * The fields and files of a multipart request; a JSON body counts as the `params` field; no body, no fields.
 * @throws ServeError 400 for a malformed body or a file field not in `fileFields`
 */
async function readForm(request: FastifyRequest, fileFields: readonly string[]): Promise<Form> {
  const fields: Record<string, string> = {};
  const files: Record<string, { filename: string; bytes: Buffer }> = {};
  if (!request.isMultipart()) {
    if (request.body !== undefined && request.body !== null) fields['params'] = JSON.stringify(request.body);
    return { fields, files };
  }
  try {
    for await (const part of request.parts()) {
      if (part.type === 'file') {
        if (!fileFields.includes(part.fieldname)) {
          await part.toBuffer().catch(() => undefined);
          throw new ServeError(
            400,
            `unexpected file field '${part.fieldname}' (expected ${fileFields.join(' or ')})`,
          );
        }
        files[part.fieldname] = { filename: part.filename, bytes: await part.toBuffer() };
      } else {
        fields[part.fieldname] = String(part.value);
      }
    }
  } catch (err) {
    if (err instanceof ServeError) throw err;
    const status = (err as { statusCode?: number }).statusCode;
    if (status !== undefined && status >= 400 && status < 500) throw err;
    throw new ServeError(400, `malformed multipart body: ${(err as Error).message}`);
  }
  return { fields, files };
}

/** The `params` field as an object. @throws ServeError 400 when it is not a JSON object */
function paramsOf(form: Form): Record<string, unknown> {
  const raw = form.fields['params'];
  if (raw === undefined || raw === '') return {};
  let params: unknown;
  try {
    params = JSON.parse(raw);
  } catch {
    throw new ServeError(400, 'params is not valid JSON');
  }
  if (typeof params !== 'object' || params === null || Array.isArray(params)) {
    throw new ServeError(400, 'params must be a JSON object');
  }
  return params as Record<string, unknown>;
}

function queryString(request: FastifyRequest, key: string): string | undefined {
  const v = (request.query as Record<string, unknown>)[key];
  if (v === undefined || v === '') return undefined;
  if (typeof v !== 'string') throw new ServeError(400, `query parameter '${key}' given more than once`);
  return v;
}

/** Class names from index 1 on by index (MONAI Label's labels dict; Slicer drops "background"). */
function labelNames(model: ServedModel): Record<string, number> {
  return Object.fromEntries(model.info.classNames.slice(1).map((name, i) => [name, i + 1]));
}

/** MONAI Label's model types: automatic models are "segmentation"; prompted ones "deepgrow" (see README). */
function modelType(model: ServedModel): 'segmentation' | 'deepgrow' {
  return model.info.prompts ? 'deepgrow' : 'segmentation';
}

function bearerMatches(header: string | undefined, token: string): boolean {
  if (!header?.startsWith('Bearer ')) return false;
  const [a, b] = [Buffer.from(header.slice(7)), Buffer.from(token)];
  return a.length === b.length && timingSafeEqual(a, b);
}

/** A multipart/form-data body of a `params` JSON part and the label map (MONAI Label's output=all). */
function multipartResult(params: unknown, file: ResultFile): { type: string; body: Buffer } {
  const boundary = `masam-${createHash('sha256').update(file.bytes).digest('hex').slice(0, 32)}`;
  const head = (disposition: string, type: string) =>
    `--${boundary}\r\nContent-Disposition: form-data; ${disposition}\r\nContent-Type: ${type}\r\n\r\n`;
  const body = Buffer.concat([
    Buffer.from(head('name="params"', 'application/json') + JSON.stringify(params) + '\r\n'),
    Buffer.from(head(`name="image"; filename="${file.name}"`, file.contentType)),
    Buffer.from(file.bytes.buffer, file.bytes.byteOffset, file.bytes.byteLength),
    Buffer.from(`\r\n--${boundary}--\r\n`),
  ]);
  return { type: `multipart/form-data; boundary=${boundary}`, body };
}

/** Builds the server (not listening yet: call `listen`, or `inject` in tests). */
export async function buildServer(options: ServeOptions): Promise<FastifyInstance> {
  const maxBody = options.maxBodyBytes ?? 512 * 1024 * 1024;
  const maxNifti = options.maxNiftiBytes ?? 2 * 1024 * 1024 * 1024;
  const timeoutMs = (options.timeoutSeconds ?? 300) * 1000;
  const runner = new ModelRunner(options.models, {
    cacheSize: options.cacheSize ?? 8,
    maxQueued: options.maxQueued ?? 64,
  });
  const datastore: Datastore = options.studies
    ? new DicomWebDatastore(options.studies, options.version)
    : new LocalDatastore(options.datastore, maxNifti);
  const sessions = new SessionStore(3600, 32);
  // A client gets 2 minutes to send its whole request (a stalled upload does not hold a socket forever).
  const app = Fastify({
    bodyLimit: maxBody,
    requestTimeout: 120_000,
    logger: false,
    routerOptions: { ignoreTrailingSlash: true },
  });
  await app.register(multipart, {
    limits: { fileSize: maxBody, files: 4, fields: 16, fieldSize: 1024 * 1024, parts: 20 },
  });
  if (options.corsOrigins?.length) {
    const origins = options.corsOrigins;
    await app.register(cors, {
      origin: origins.includes('*') ? '*' : [...origins],
      methods: ['GET', 'POST', 'PUT', 'DELETE'],
      allowedHeaders: ['Authorization', 'Content-Type', 'Accept'],
      exposedHeaders: ['Content-Disposition'],
      maxAge: 600,
    });
  }
  // /auth/token takes a login form; its password is the token (Slicer's MONAILabel asks for both).
  app.addContentTypeParser('application/x-www-form-urlencoded', { parseAs: 'string' }, (_req, body, done) => {
    done(null, Object.fromEntries(new URLSearchParams(body as string)));
  });

  app.setErrorHandler((err: Error & { statusCode?: number }, request, reply) => {
    let status = err instanceof ServeError ? err.statusCode : (err.statusCode ?? 500);
    if (status < 400 || status > 599) status = 500;
    if (status >= 500 && !(err instanceof ServeError)) {
      console.error(`masam serve: ${request.method} ${request.url}: ${err.stack ?? err.message}`);
    }
    void reply.code(status).send({ error: STATUS_CODES[status] ?? 'Error', detail: err.message });
  });
  app.setNotFoundHandler((request, reply) => {
    void reply
      .code(404)
      .send({ error: STATUS_CODES[404], detail: `${request.method} ${request.url} is not served` });
  });

  const token = options.token;
  app.addHook('onRequest', async (request) => {
    // A CORS preflight carries no credentials by design; it is answered by @fastify/cors, never routed.
    if (!token || request.method === 'OPTIONS') return;
    const path = request.url.split('?')[0]!.replace(/\/+$/, '');
    if (path === '/auth' || path === '/auth/token') return;
    if (!bearerMatches(request.headers.authorization, token)) {
      throw new ServeError(401, 'missing or wrong bearer token (Authorization: Bearer <token>)');
    }
  });

  app.get('/auth/', async () => ({ enabled: token !== undefined }));
  app.post('/auth/token', async (request) => {
    const form = (request.body ?? {}) as Record<string, unknown>;
    if (!token) throw new ServeError(404, 'this server runs without a token');
    const password = typeof form['password'] === 'string' ? form['password'] : '';
    if (!bearerMatches(`Bearer ${password}`, token)) throw new ServeError(401, 'wrong token');
    return { access_token: token, token_type: 'bearer' };
  });
  app.get('/auth/token/valid', async () => ({}));

  app.get('/info/', async () => {
    const models = runner.list();
    const labels: string[] = [];
    for (const m of models)
      for (const name of Object.keys(labelNames(m))) if (!labels.includes(name)) labels.push(name);
    return {
      name: 'masam',
      description: 'MA-SAM (SAM adapted to 3D medical images) on ONNX Runtime',
      version: options.version,
      labels,
      models: Object.fromEntries(
        models.map((m) => [
          m.name,
          {
            type: modelType(m),
            labels: labelNames(m),
            dimension: 3,
            description: m.info.prompts
              ? `box-prompted MA-SAM (roi box; ${m.info.prompts.points} point(s) per slice)`
              : 'automatic MA-SAM',
            config: {},
          },
        ]),
      ),
      trainers: {},
      strategies: Object.fromEntries(
        Object.entries(STRATEGIES).map(([name, description]) => [name, { description }]),
      ),
      scoring: {},
      train_stats: {},
      datastore: await datastore.status(),
    };
  });

  app.post('/infer/:model', async (request, reply) => {
    const started = performance.now();
    const served = runner.get((request.params as { model: string }).model);
    const output = queryString(request, 'output') ?? 'all';
    if (output === 'dicom_seg' && !(datastore instanceof DicomWebDatastore))
      throw new ServeError(400, 'output=dicom_seg needs a DICOMweb datastore (masam serve --studies <URL>)');
    if (!['image', 'json', 'all', 'dicom_seg'].includes(output))
      throw new ServeError(400, `output must be image, json, all or dicom_seg, not '${output}'`);
    const form = await readForm(request, ['file']);
    const params = paramsOf(form);
    const format = resultFormat(params);
    const file = form.files['file'];
    const imageId = queryString(request, 'image');
    const sessionId = queryString(request, 'session_id');
    if (output === 'dicom_seg' && (file || sessionId || !imageId))
      throw new ServeError(
        400,
        'output=dicom_seg takes ?image=<series UID> only: the SEG references that series',
      );
    let imageKey: string;
    let load: () => Promise<Volume>;
    if (file) {
      // An uploaded image is cached by its content: the same file sent again reuses its embeddings.
      imageKey = `upload:${createHash('sha256').update(file.bytes).digest('hex')}`;
      const volume = parseUploadedNifti(file.bytes, `uploaded file '${file.filename}'`, maxNifti);
      load = async () => volume;
    } else if (sessionId) {
      const session = sessions.get(sessionId);
      imageKey = `session:${session.id}`;
      load = async () => parseUploadedNifti(session.bytes, `session '${session.id}'`, maxNifti);
    } else if (imageId) {
      imageKey = await datastore.imageKey(imageId);
      load = () => datastore.readImage(imageId);
    } else {
      throw new ServeError(400, 'give an image: ?image=<datastore id>, ?session_id=, or a "file" part');
    }
    let prompts: ((v: Volume) => ReturnType<typeof promptsForVolume>) | undefined;
    if (served.info.prompts) {
      if (!hasPrompts(params)) {
        throw new ServeError(
          400,
          `model '${served.name}' is box-prompted: give "roi" (or "box3d"/"boxes") and/or points in params`,
        );
      }
      prompts = (v) => {
        try {
          return promptsForVolume(promptsFromParams(params, v.shape), v, served.info, 'params', imageKey);
        } catch (err) {
          throw err instanceof MasamError ? new ServeError(400, err.message) : err;
        }
      };
    } else if (hasPrompts(params)) {
      throw new ServeError(400, `model '${served.name}' is automatic: it takes no prompts`);
    }
    const signal = AbortSignal.timeout(timeoutMs);
    let outcome: Awaited<ReturnType<ModelRunner['run']>>;
    try {
      outcome = await runner.run(served.name, imageKey, load, prompts, signal);
    } catch (err) {
      if (signal.aborted) throw new ServeError(504, `inference took longer than ${timeoutMs / 1000} s`);
      if (err instanceof MasamError) throw new ServeError(400, err.message);
      throw err;
    }
    const result = outcome.result;
    const resultParams = {
      model: served.name,
      label_names: labelNames(served),
      stacks: result.stacks,
      encoded_stacks: outcome.encodedStacks,
      decoded_images: outcome.decodedImages,
      latencies: {
        queued: outcome.queued,
        infer: result.seconds,
        total: (performance.now() - started) / 1000,
      },
    };
    if (output === 'json') return resultParams;
    if (output === 'dicom_seg' && datastore instanceof DicomWebDatastore) {
      const seg = await datastore.storeSeg(imageId!, result.labels, served.info.classNames, served.name);
      return reply
        .type('application/dicom')
        .header('Content-Disposition', `attachment; filename="${seg.seriesInstanceUID}.dcm"`)
        .send(Buffer.from(seg.bytes.buffer, seg.bytes.byteOffset, seg.bytes.byteLength));
    }
    const labelFile = resultFile(result.labels, format);
    if (output === 'image') {
      return reply
        .type(labelFile.contentType)
        .header('Content-Disposition', `attachment; filename="${labelFile.name}"`)
        .send(Buffer.from(labelFile.bytes.buffer, labelFile.bytes.byteOffset, labelFile.bytes.byteLength));
    }
    const { type, body } = multipartResult(resultParams, labelFile);
    return reply.type(type).send(body);
  });

  app.get('/datastore/', async (request) => {
    const output = queryString(request, 'output') ?? 'stats';
    if (output === 'all') {
      return {
        name: 'masam',
        description: 'masam serve datastore',
        images_dir: '',
        labels_dir: 'labels',
        objects: await datastore.objects(),
      };
    }
    if (output === 'stats') return datastore.status();
    throw new ServeError(400, `output must be all or stats, not '${output}'`);
  });

  const addImage = async (request: FastifyRequest) => {
    const form = await readForm(request, ['file']);
    paramsOf(form);
    const file = form.files['file'];
    if (!file) throw new ServeError(400, 'no "file" part: upload the image as multipart field "file"');
    const fromName = file.filename.replace(/\.nii(\.gz)?$/i, '');
    const id = checkId(queryString(request, 'image') ?? fromName, 'image');
    return { image: await datastore.addImage(id, file.bytes) };
  };
  app.put('/datastore/', addImage);
  app.put('/datastore/image', addImage);

  app.get('/datastore/image', async (request, reply: FastifyReply) => {
    const id = queryString(request, 'image');
    if (!id) throw new ServeError(400, 'give ?image=<id>');
    const { name, bytes } = await datastore.imageFile(id);
    return reply
      .type('application/octet-stream')
      .header('Content-Disposition', `attachment; filename="${name}"`)
      .send(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength));
  });

  app.get('/datastore/label', async (request, reply: FastifyReply) => {
    const id = queryString(request, 'label');
    if (!id) throw new ServeError(400, 'give ?label=<image id>&tag=<tag>');
    const tag = queryString(request, 'tag') ?? FINAL_TAG;
    const { name, bytes } = await datastore.labelFile(id, tag);
    return reply
      .type('application/octet-stream')
      .header('Content-Disposition', `attachment; filename="${name}"`)
      .send(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength));
  });

  app.post('/activelearning/:strategy', async (request) => {
    const strategy = (request.params as { strategy: string }).strategy;
    if (!(strategy in STRATEGIES)) {
      throw new ServeError(404, `unknown strategy '${strategy}' (${Object.keys(STRATEGIES).join(', ')})`);
    }
    const unlabelled = Object.entries(await datastore.objects()).filter(([, o]) => !o.labels[FINAL_TAG]);
    if (unlabelled.length === 0) return {};
    const [id, object] =
      unlabelled[strategy === 'first' ? 0 : Math.floor(Math.random() * unlabelled.length)]!;
    // Slicer downloads it from /datastore/image and names the file `name` (its extension picks the reader).
    return { id, name: `${id}${object.image.ext}` };
  });

  app.put('/datastore/label', async (request) => {
    const id = queryString(request, 'image');
    if (!id) throw new ServeError(400, 'give ?image=<id>');
    const tag = checkId(queryString(request, 'tag') ?? FINAL_TAG, 'tag');
    const form = await readForm(request, ['label']);
    const params = paramsOf(form);
    const file = form.files['label'];
    if (!file) throw new ServeError(400, 'no "label" part: upload the label map as multipart field "label"');
    const image = await datastore.readImage(id);
    const { label, classNames } = readUploadedLabel(
      file.bytes,
      file.filename,
      image,
      params,
      `label '${file.filename}' of image '${id}'`,
      maxNifti,
    );
    return { image: id, label: await datastore.saveLabel(id, tag, label, classNames) };
  });

  app.put('/session/', async (request) => {
    const form = await readForm(request, ['files', 'file']);
    const file = form.files['files'] ?? form.files['file'];
    if (!file) throw new ServeError(400, 'no image: send it as multipart field "files"');
    parseUploadedNifti(file.bytes, `session image '${file.filename}'`, maxNifti);
    const expiry = Number(queryString(request, 'expiry') ?? form.fields['expiry'] ?? 0);
    const session = sessions.add(file.bytes, file.filename, Number.isFinite(expiry) ? expiry : 0);
    return { session_id: session.id, session_info: SessionStore.describe(session) };
  });
  app.get('/session/:id', async (request) =>
    SessionStore.describe(sessions.get((request.params as { id: string }).id)),
  );
  app.delete('/session/:id', async (request) =>
    SessionStore.describe(sessions.remove((request.params as { id: string }).id)),
  );
  return app;
}
