// Exported models on disk for the CLI, opened with onnxruntime-node together with their masam metadata
// (infer/model_info.ts): a split model folder (encoder.onnx + decoder.onnx, MaSamModel.exportSplit), a run
// folder holding one (`model/`), or one `.onnx` graph (MaSamModel.exportOnnx; every model exported before
// the split, and run folders of that time with `model.onnx`).
import { readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { SPLIT_DECODER_FILE, SPLIT_ENCODER_FILE } from '../api/model.js';
import { MasamError } from '../core/errors.js';
import { type ModelInfo, modelInfoFromMetadata, splitPartsMismatch } from '../infer/model_info.js';
import { type StackModel, sessionStackModel, splitStackModel } from '../infer/stack_model.js';
import { inspectModel } from '../onnx/inspect.js';
import { type Device, OrtSession } from '../runtime/index.js';

/** The split model folder inside a run folder. */
export const RUN_MODEL_DIR = 'model';
/** The one-graph model of run folders written before the split. */
export const RUN_MODEL_FILE = 'model.onnx';

export interface OpenModelOptions {
  readonly device?: Device;
  /** ORT intra-op threads (default: all cores). */
  readonly threads?: number;
}

/** An exported model, opened. */
export interface OpenedModel {
  /** The split model's folder or the .onnx file. */
  readonly path: string;
  readonly info: ModelInfo;
  /** Stacks through the session(s) (infer/stack_model.ts). */
  readonly model: StackModel;
  release(): Promise<void>;
}

/** Where an exported model lies: a split model folder or one .onnx file. */
export type ModelLocation =
  | { readonly kind: 'split'; readonly dir: string }
  | { readonly kind: 'onnx'; readonly file: string };

const isFile = async (path: string): Promise<boolean> =>
  (await stat(path).catch(() => undefined))?.isFile() ?? false;
/** Whether `dir` holds a split model's two graphs. */
export const isSplitDir = async (dir: string): Promise<boolean> =>
  (await isFile(join(dir, SPLIT_ENCODER_FILE))) && (await isFile(join(dir, SPLIT_DECODER_FILE)));

/**
 * The model `path` names: a split model folder (encoder.onnx + decoder.onnx), a run folder holding one in
 * `model/` (or, from before the split, `model.onnx`), or an .onnx file.
 * @throws MasamError naming `path` when none of these is there
 */
export async function resolveModel(path: string): Promise<ModelLocation> {
  const info = await stat(path).catch(() => undefined);
  if (!info) {
    throw new MasamError(
      `${path}: model not found (expected an exported model folder, an .onnx file or a run folder)`,
    );
  }
  if (!info.isDirectory()) return { kind: 'onnx', file: path };
  if (await isSplitDir(path)) return { kind: 'split', dir: path };
  const inRun = join(path, RUN_MODEL_DIR);
  if (await isSplitDir(inRun)) return { kind: 'split', dir: inRun };
  if (await isFile(join(path, RUN_MODEL_FILE))) return { kind: 'onnx', file: join(path, RUN_MODEL_FILE) };
  const one =
    (await isFile(join(path, SPLIT_ENCODER_FILE))) !== (await isFile(join(path, SPLIT_DECODER_FILE)));
  throw new MasamError(
    one
      ? `${path}: the model folder needs both ${SPLIT_ENCODER_FILE} and ${SPLIT_DECODER_FILE}; one is missing`
      : `${path}: the folder holds no model (${SPLIT_ENCODER_FILE} + ${SPLIT_DECODER_FILE}, ${RUN_MODEL_DIR}/ or ${RUN_MODEL_FILE}; export the model there first)`,
  );
}

/** Reads an .onnx file's metadata (masam.*) and starts a session on it. */
async function openSession(
  file: string,
  options: OpenModelOptions,
): Promise<{ info: ModelInfo; session: OrtSession; metadata: Readonly<Record<string, string>> }> {
  const bytes = await readFile(file).catch((err: Error) => {
    throw new MasamError(`${file}: cannot read the model (${err.message})`);
  });
  const metadata = inspectModel(bytes, file).metadata;
  const info = modelInfoFromMetadata(metadata, file);
  try {
    const session = await OrtSession.fromFile(file, {
      ...(options.device ? { device: options.device } : {}),
      ...(options.threads ? { threads: options.threads } : {}),
    });
    return { info, session, metadata };
  } catch (err) {
    const hint =
      options.device === 'cuda'
        ? " (for --device cuda install ORT's CUDA binaries: see 'GPU (CUDA)' in docs/ENGINE.md)"
        : '';
    throw new MasamError(`${(err as Error).message}${hint}`);
  }
}

/**
 * Opens an exported masam model: reads its metadata (class names, preprocessing, D, S), checks its
 * signature and starts ONNX Runtime session(s) on `device`.
 * @throws MasamError naming the file when it is missing, not ONNX, not a masam export or not loadable
 */
export async function openModel(path: string, options: OpenModelOptions = {}): Promise<OpenedModel> {
  const where = await resolveModel(path);
  if (where.kind === 'onnx') {
    const { info, session } = await openSession(where.file, options);
    try {
      const model = sessionStackModel(session, info);
      return { path: where.file, info, model, release: () => session.release() };
    } catch (err) {
      await session.release();
      throw new MasamError(`${where.file}: ${(err as Error).message}`);
    }
  }
  const encoderFile = join(where.dir, SPLIT_ENCODER_FILE);
  const decoderFile = join(where.dir, SPLIT_DECODER_FILE);
  const encoder = await openSession(encoderFile, options);
  const decoder = await openSession(decoderFile, options).catch(async (err) => {
    await encoder.session.release();
    throw err;
  });
  const release = async () => {
    await encoder.session.release();
    await decoder.session.release();
  };
  const problem = splitPartsMismatch(
    where.dir,
    [encoder.metadata, encoderFile],
    [decoder.metadata, decoderFile],
  );
  if (problem) {
    await release();
    throw new MasamError(problem);
  }
  try {
    const model = splitStackModel(encoder.session, decoder.session, encoder.info);
    return { path: where.dir, info: encoder.info, model, release };
  } catch (err) {
    await release();
    throw new MasamError(`${where.dir}: ${(err as Error).message}`);
  }
}
