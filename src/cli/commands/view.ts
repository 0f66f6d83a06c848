// `masam view [--port N] [--volume file] [--model model]`: serves the browser viewer (built into
// dist/viewer-app by `npm run build`) on 127.0.0.1 with Node's http module, optionally preloading a volume
// and a model under /preload/: a split model (encoder.onnx + decoder.onnx, in its folder or a run's
// model/) or one .onnx graph, each with its .onnx.data. The page segments in the browser; this server only
// hands out files and never receives any (GET and HEAD only).
import { createReadStream, existsSync } from 'node:fs';
import { readFile, stat } from 'node:fs/promises';
import { type IncomingMessage, type Server, type ServerResponse, createServer } from 'node:http';
import { basename, dirname, extname, join, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { MasamError } from '../../core/errors.js';
import { SPLIT_DECODER_FILE, SPLIT_ENCODER_FILE } from '../../api/model.js';
import { type NamedMetadata, modelInfoFromMetadata, splitPartsMismatch } from '../../infer/model_info.js';
import { serializeNifti } from '../../io/nifti.js';
import { inspectModel } from '../../onnx/inspect.js';
import { type Command, UsageError, parseCommandArgs, withExamples } from '../command.js';
import { resolveModel } from '../model_files.js';
import { readVolume } from '../volume_files.js';

const USAGE = withExamples(
  [
    'Usage: masam view [--port N] [--volume <file|folder>] [--model <folder|model.onnx>]',
    '',
    'Serves the masam viewer on http://127.0.0.1:<port>/ (default 8765). Open it in a browser: it shows NIfTI',
    'volumes (open or drop files), runs an exported model on them in the browser (WebGPU, else WASM) and',
    'downloads the label map as NIfTI. Nothing is uploaded: the page talks to this server only to load itself.',
    '',
    'Options:',
    '  --port N           port on 127.0.0.1 (0 = any free port)',
    '  --volume <path>    preload a volume: NIfTI as is; a DICOM series or frames folder is converted to NIfTI',
    '  --model <path>     preload an exported masam model: a split model folder (encoder.onnx + decoder.onnx;',
    '                     a prompt edit then re-runs only the decoder), a run folder holding one (model/), or',
    "                     an .onnx file; each graph's <graph>.onnx.data is found beside it",
  ].join('\n'),
  ['masam view --model runs/btcv --volume case.nii.gz', 'masam view --port 0 --volume dicom/series_3/'],
);

/** A file the server hands out under /preload/: from disk (streamed) or from memory. */
export type PreloadFile =
  | { readonly name: string; readonly path: string }
  | { readonly name: string; readonly bytes: Uint8Array };

export interface ViewerServerOptions {
  /** The built viewer (default: dist/viewer-app of this package). */
  readonly appDir?: string;
  /** 0 (default) picks a free port. */
  readonly port?: number;
  readonly volume?: PreloadFile;
  readonly model?: PreloadModel;
}

/** A model's files for the page: one .onnx or encoder.onnx + decoder.onnx, and their .onnx.data files. */
export interface PreloadModel {
  /** Shown on the page: the .onnx file's or the model folder's name. */
  readonly name: string;
  /** Served as /preload/model/<file name>; the names are distinct. */
  readonly files: readonly PreloadFile[];
}

export interface ViewerServer {
  /** http://127.0.0.1:<port>/ */
  readonly url: string;
  readonly port: number;
  close(): Promise<void>;
}

const CONTENT_TYPES: Readonly<Record<string, string>> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.wasm': 'application/wasm',
  '.json': 'application/json',
  '.txt': 'text/plain; charset=utf-8',
  '.map': 'application/json',
};

/**
 * Every response: cross-origin isolation (COOP + COEP) so onnxruntime-web may use WASM threads
 * (SharedArrayBuffer), nothing shared with other origins, no caching of preloaded files.
 */
const BASE_HEADERS = {
  'Cross-Origin-Opener-Policy': 'same-origin',
  'Cross-Origin-Embedder-Policy': 'require-corp',
  'Cross-Origin-Resource-Policy': 'same-origin',
  'X-Content-Type-Options': 'nosniff',
  'Referrer-Policy': 'no-referrer',
};

/** The package root (the folder with masam's package.json), from this module's location. */
function packageRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    if (existsSync(join(dir, 'package.json'))) return dir;
    const up = dirname(dir);
    if (up === dir) throw new MasamError('cannot find the masam package folder above this file');
    dir = up;
  }
}

/** Where `npm run build` puts the viewer. */
export function defaultAppDir(): string {
  return join(packageRoot(), 'dist', 'viewer-app');
}

function sendError(res: ServerResponse, status: number, message: string): void {
  res.writeHead(status, { ...BASE_HEADERS, 'Content-Type': 'text/plain; charset=utf-8' });
  res.end(`${message}\n`);
}

async function sendFile(
  req: IncomingMessage,
  res: ServerResponse,
  file: PreloadFile | string,
  type: string,
): Promise<void> {
  const headers = { ...BASE_HEADERS, 'Content-Type': type, 'Cache-Control': 'no-store' };
  if (typeof file !== 'string' && 'bytes' in file) {
    res.writeHead(200, { ...headers, 'Content-Length': String(file.bytes.byteLength) });
    res.end(req.method === 'HEAD' ? undefined : file.bytes);
    return;
  }
  const path = typeof file === 'string' ? file : file.path;
  const info = await stat(path).catch(() => undefined);
  if (!info?.isFile()) {
    sendError(res, 404, 'not found');
    return;
  }
  res.writeHead(200, { ...headers, 'Content-Length': String(info.size) });
  if (req.method === 'HEAD') {
    res.end();
    return;
  }
  createReadStream(path)
    .on('error', () => res.destroy())
    .pipe(res);
}

/** Starts the viewer's HTTP server on 127.0.0.1. */
export async function startViewerServer(options: ViewerServerOptions = {}): Promise<ViewerServer> {
  const appDir = resolve(options.appDir ?? defaultAppDir());
  if (!existsSync(join(appDir, 'index.html'))) {
    throw new MasamError(`the viewer is not built (${appDir}/index.html is missing): run 'npm run build'`);
  }
  const model = options.model;
  const manifest = JSON.stringify({
    ...(options.volume ? { volume: options.volume.name } : {}),
    ...(model ? { model: { name: model.name, files: model.files.map((f) => f.name) } } : {}),
  });
  const preload: Record<string, PreloadFile | undefined> = { '/preload/volume': options.volume };
  for (const file of model?.files ?? []) preload[`/preload/model/${file.name}`] = file;
  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.setHeader('Allow', 'GET, HEAD');
      sendError(res, 405, 'the viewer server only serves files');
      return;
    }
    let path: string;
    try {
      path = decodeURIComponent(new URL(req.url ?? '/', 'http://127.0.0.1').pathname);
    } catch {
      sendError(res, 400, 'bad path');
      return;
    }
    if (path === '/preload/manifest.json') {
      await sendFile(
        req,
        res,
        { name: 'manifest.json', bytes: Buffer.from(manifest) },
        CONTENT_TYPES['.json']!,
      );
      return;
    }
    if (path in preload) {
      const file = preload[path];
      if (file) await sendFile(req, res, file, 'application/octet-stream');
      else sendError(res, 404, 'nothing preloaded here');
      return;
    }
    const target = resolve(appDir, `.${path.endsWith('/') ? `${path}index.html` : path}`);
    if (target !== appDir && !target.startsWith(appDir + sep)) {
      sendError(res, 403, 'outside the viewer');
      return;
    }
    await sendFile(req, res, target, CONTENT_TYPES[extname(target)] ?? 'application/octet-stream');
  };
  const server: Server = createServer((req, res) => {
    handle(req, res).catch((err: unknown) => {
      if (!res.headersSent) sendError(res, 500, (err as Error).message);
      else res.destroy();
    });
  });
  await new Promise<void>((ok, fail) => {
    server.once('error', (err: NodeJS.ErrnoException) =>
      fail(
        err.code === 'EADDRINUSE'
          ? new MasamError(`port ${options.port} on 127.0.0.1 is in use (try --port 0)`)
          : err,
      ),
    );
    server.listen(options.port ?? 0, '127.0.0.1', () => ok());
  });
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  return {
    url: `http://127.0.0.1:${port}/`,
    port,
    close: () =>
      new Promise<void>((ok) => {
        server.close(() => ok());
        server.closeAllConnections();
      }),
  };
}

/** The preload entries for `--volume`: NIfTI files as they are, anything else converted to .nii.gz. */
async function volumePreload(path: string): Promise<PreloadFile> {
  if (/\.nii(\.gz)?$/i.test(path)) {
    if (!(await stat(path).catch(() => undefined))?.isFile()) throw new MasamError(`${path}: no such file`);
    return { name: basename(path), path };
  }
  const volume = await readVolume(path);
  const name = `${basename(path.replace(/[/\\]+$/, '')).replace(/\.[^.]*$/, '')}.nii.gz`;
  return { name, bytes: serializeNifti(volume, { gzip: true }) };
}

/**
 * The preload entries for `--model` (a split model folder, a run folder or an .onnx file, as
 * `masam segment --model` takes them): each graph, checked to be a masam export (a split model's two from
 * one export), and its external data.
 * @throws MasamError naming the file or folder that is not a model
 */
export async function modelPreload(path: string): Promise<PreloadModel> {
  const where = await resolveModel(path);
  const graphs =
    where.kind === 'onnx'
      ? [where.file]
      : [join(where.dir, SPLIT_ENCODER_FILE), join(where.dir, SPLIT_DECODER_FILE)];
  const files: PreloadFile[] = [];
  const metadata: NamedMetadata[] = [];
  for (const file of graphs) {
    const bytes = await readFile(file).catch((err: Error) => {
      throw new MasamError(`${file}: cannot read the model (${err.message})`);
    });
    const meta = inspectModel(bytes, file).metadata;
    modelInfoFromMetadata(meta, file);
    metadata.push([meta, file]);
    files.push({ name: basename(file), bytes });
    const dataPath = `${file}.data`;
    if (existsSync(dataPath)) files.push({ name: basename(dataPath), path: dataPath });
  }
  if (where.kind === 'onnx') {
    const part = metadata[0]![0]['masam.part'];
    if (part !== undefined)
      throw new MasamError(`${where.file}: a split model's ${part}; give the folder that holds both graphs`);
    return { name: basename(where.file), files };
  }
  const problem = splitPartsMismatch(where.dir, metadata[0]!, metadata[1]!);
  if (problem) throw new MasamError(problem);
  return { name: basename(resolve(path)), files };
}

function parse(args: string[]) {
  return parseCommandArgs({
    args,
    options: {
      port: { type: 'string' },
      volume: { type: 'string' },
      model: { type: 'string' },
    },
    allowPositionals: false,
    strict: true,
  });
}

/** The `view` subcommand (listed in main.ts): serves until Ctrl-C. */
export const view: Command = {
  name: 'view',
  summary: 'open the browser viewer: show volumes and segment them in the browser (nothing uploaded)',
  usage: USAGE,
  async run(args: string[]): Promise<number> {
    const { values } = parse(args);
    const port = values.port === undefined ? 8765 : Number(values.port);
    if (!(Number.isInteger(port) && port >= 0 && port <= 65535))
      throw new UsageError(`--port must be an integer 0–65535, got '${values.port}'`);
    const volume = values.volume ? await volumePreload(values.volume) : undefined;
    const model = values.model ? await modelPreload(values.model) : undefined;
    const server = await startViewerServer({
      port,
      ...(volume ? { volume } : {}),
      ...(model ? { model } : {}),
    });
    console.log(`masam viewer: ${server.url}  (Ctrl-C to stop)`);
    if (volume) console.log(`  volume: ${volume.name}`);
    if (model) console.log(`  model:  ${model.name} (${model.files.map((f) => f.name).join(' + ')})`);
    await new Promise<void>((ok) => {
      const stop = () => ok();
      process.once('SIGINT', stop);
      process.once('SIGTERM', stop);
    });
    await server.close();
    return 0;
  },
};
