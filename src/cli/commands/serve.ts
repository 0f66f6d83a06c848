// `masam serve --models <dir>`: serves the exported models in a folder to 3D Slicer's MONAILabel module
// and OHIF's MONAI Label mode over the MONAI Label REST protocol (serve/server.ts), with a datastore on a
// local folder. This file finds and opens the models and checks the options; the protocol lives in serve/.
import { readdir, stat } from 'node:fs/promises';
import { basename, join, resolve } from 'node:path';
import { MasamError } from '../../core/errors.js';
import { checkId } from '../../serve/datastore.js';
import type { ServedModel } from '../../serve/model_runner.js';
import { buildServer } from '../../serve/server.js';
import { type Command, UsageError, parseCommandArgs, withExamples } from '../command.js';
import { type OpenedModel, openModel, resolveModel } from '../model_files.js';
import { version } from '../version.js';

const USAGE = withExamples(
  [
    'Usage: masam serve --models <dir> [--port N] [--host 127.0.0.1] [--token T]',
    '                   [--datastore <folder> | --studies <DICOMweb URL>] [--cors-origin <origin>]…',
    '',
    "Serves exported masam models over the MONAI Label REST protocol, for 3D Slicer's MONAILabel module",
    "(and OHIF's MONAI Label mode): GET /info/, POST /infer/<model>, the datastore (/datastore/) and sessions",
    '(/session/). An automatic model is a "segmentation" model; a box-prompted one a "deepgrow" model that',
    "takes Slicer's ROI box and foreground/background points (in voxels, as --prompts in masam segment).",
    '',
    'Options:',
    '  --models <dir>       a folder of models: each split model folder (encoder.onnx + decoder.onnx), run',
    '                       folder or .onnx file in it is served under its name; or one such model itself',
    '  --port N             port (default 8000, as MONAI Label; 0 = any free port)',
    '  --host H             address to listen on (default 127.0.0.1; any other needs --token)',
    '  --datastore <dir>    folder for images and labels (default ./masam-datastore)',
    '  --studies <URL>      a DICOMweb server instead (QIDO/WADO/STOW-RS): its series are the images, and',
    '                       /infer/<model>?image=<SeriesInstanceUID>&output=dicom_seg stores a DICOM-SEG there',
    '  --token T            require "Authorization: Bearer T" on every request',
    '  --cors-origin O      let pages of web origin O (e.g. your OHIF viewer, http://ohif.local:3000; or *)',
    '                       call the server from the browser; repeat for more origins',
    '  --timeout S          seconds one inference may take, waiting included (default 300)',
    '  --max-body-mb N      largest request body in MiB (default 512)',
    '  --threads N          ONNX Runtime intra-op threads per model (default: all cores)',
  ].join('\n'),
  [
    'masam serve --models models/ --datastore studies/',
    'masam serve --models models/ --studies http://127.0.0.1:8042/dicom-web --cors-origin http://127.0.0.1:3000',
  ],
);

const LOOPBACK = new Set(['127.0.0.1', 'localhost', '::1']);

/**
 * Opens the models `path` names: itself when it is a model (split folder, run folder, .onnx), else every
 * model in it, each named after its folder or file stem.
 * @throws MasamError when `path` is missing or holds no model
 */
export async function openServedModels(
  path: string,
  threads?: number,
): Promise<{ models: ServedModel[]; opened: OpenedModel[] }> {
  const info = await stat(path).catch(() => undefined);
  if (!info) throw new MasamError(`${path}: no such folder or file`);
  const candidates: { name: string; path: string }[] = [];
  const isModel = await resolveModel(path).then(
    () => true,
    () => false,
  );
  if (isModel) candidates.push({ name: basename(resolve(path)).replace(/\.onnx$/i, ''), path });
  else {
    for (const entry of (await readdir(path, { withFileTypes: true })).sort((a, b) =>
      a.name.localeCompare(b.name),
    )) {
      const p = join(path, entry.name);
      if (entry.isFile() && entry.name.endsWith('.onnx'))
        candidates.push({ name: entry.name.slice(0, -5), path: p });
      else if (
        entry.isDirectory() &&
        (await resolveModel(p).then(
          () => true,
          () => false,
        ))
      )
        candidates.push({ name: entry.name, path: p });
    }
  }
  if (candidates.length === 0) {
    throw new MasamError(`${path}: holds no model (split model folders, run folders or .onnx files)`);
  }
  const opened: OpenedModel[] = [];
  const models: ServedModel[] = [];
  try {
    for (const c of candidates) {
      try {
        checkId(c.name, 'model name');
      } catch (err) {
        throw new MasamError(`${c.path}: ${(err as Error).message}`);
      }
      const m = await openModel(c.path, threads ? { threads } : {});
      opened.push(m);
      models.push({ name: c.name, info: m.info, model: m.model });
    }
  } catch (err) {
    await Promise.all(opened.map((m) => m.release()));
    throw err;
  }
  return { models, opened };
}

function positive(name: string, raw: string | undefined, fallback: number): number {
  if (raw === undefined) return fallback;
  const v = Number(raw);
  if (!(Number.isFinite(v) && v > 0))
    throw new UsageError(`--${name} must be a positive number, got '${raw}'`);
  return v;
}

/** The `serve` subcommand (listed in run_cli.ts): serves until Ctrl-C. */
export const serve: Command = {
  name: 'serve',
  summary: 'serve models to 3D Slicer / OHIF over the MONAI Label protocol (datastore on a folder)',
  usage: USAGE,
  async run(args: string[]): Promise<number> {
    const { values } = parseCommandArgs({
      args,
      options: {
        models: { type: 'string' },
        port: { type: 'string' },
        host: { type: 'string' },
        datastore: { type: 'string' },
        studies: { type: 'string' },
        token: { type: 'string' },
        timeout: { type: 'string' },
        'max-body-mb': { type: 'string' },
        threads: { type: 'string' },
        'cors-origin': { type: 'string', multiple: true },
      },
      allowPositionals: false,
      strict: true,
    });
    if (!values.models) throw new UsageError('--models <dir> is required');
    const port = values.port === undefined ? 8000 : Number(values.port);
    if (!(Number.isInteger(port) && port >= 0 && port <= 65535))
      throw new UsageError(`--port must be an integer 0–65535, got '${values.port}'`);
    const host = values.host ?? '127.0.0.1';
    if (values.studies !== undefined && values.datastore !== undefined)
      throw new UsageError('give --datastore or --studies, not both');
    if (values.studies !== undefined && !/^https?:\/\/[^/]/i.test(values.studies))
      throw new UsageError(`--studies must be an http(s) URL of a DICOMweb server, got '${values.studies}'`);
    if (values.token === '') throw new UsageError('--token must not be empty');
    if (!values.token && !LOOPBACK.has(host))
      throw new UsageError(`--host ${host} exposes the server beyond this machine: give --token too`);
    const timeoutSeconds = positive('timeout', values.timeout, 300);
    const maxBodyBytes = Math.round(positive('max-body-mb', values['max-body-mb'], 512) * 1024 * 1024);
    const threads = values.threads === undefined ? undefined : positive('threads', values.threads, 1);
    if (threads !== undefined && !Number.isInteger(threads))
      throw new UsageError('--threads must be an integer');
    const corsOrigins = values['cors-origin'] ?? [];
    for (const o of corsOrigins)
      if (o !== '*' && !/^https?:\/\/[^/\s]+$/i.test(o))
        throw new UsageError(
          `--cors-origin must be * or an origin such as http://host:3000 (no path), got '${o}'`,
        );
    const { models, opened } = await openServedModels(values.models, threads);
    const app = await buildServer({
      models,
      datastore: resolve(values.datastore ?? 'masam-datastore'),
      ...(values.studies ? { studies: values.studies } : {}),
      ...(values.token ? { token: values.token } : {}),
      ...(corsOrigins.length ? { corsOrigins } : {}),
      timeoutSeconds,
      maxBodyBytes,
      version,
    });
    try {
      const url = await app.listen({ port, host });
      console.log(`masam serve: ${url}  (Ctrl-C to stop)`);
      for (const m of models)
        console.log(
          `  model ${m.name}: ${m.info.prompts ? 'box-prompted (deepgrow)' : 'automatic (segmentation)'}, ${m.info.classNames.length - 1} classes`,
        );
      await new Promise<void>((ok) => {
        const stop = () => ok();
        process.once('SIGINT', stop);
        process.once('SIGTERM', stop);
      });
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'EADDRINUSE')
        throw new MasamError(`port ${port} on ${host} is in use (try --port 0)`);
      throw err;
    } finally {
      await app.close();
      await Promise.all(opened.map((m) => m.release()));
    }
    return 0;
  },
};
