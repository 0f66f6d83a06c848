// Exported models on disk for the CLI: a `.onnx` file written by MaSamModel.exportOnnx, or a run folder
// holding `model.onnx`, opened with onnxruntime-node together with its masam metadata (infer/model_info.ts).
import { readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { MasamError } from '../core/errors.js';
import { type ModelInfo, modelInfoFromMetadata } from '../infer/model_info.js';
import { type StackRunner, sessionStackRunner } from '../infer/segment.js';
import { inspectModel } from '../onnx/inspect.js';
import { type Device, OrtSession } from '../runtime/index.js';

/** The file a run folder keeps its exported model in. */
export const RUN_MODEL_FILE = 'model.onnx';

export interface OpenModelOptions {
  readonly device?: Device;
  /** ORT intra-op threads (default: all cores). */
  readonly threads?: number;
}

/** An exported model, opened. */
export interface OpenedModel {
  /** The .onnx file. */
  readonly path: string;
  readonly info: ModelInfo;
  readonly session: OrtSession;
  /** One stack through the session (infer/segment.ts). */
  readonly run: StackRunner;
  release(): Promise<void>;
}

/**
 * The .onnx file `path` names: the file itself, or `<path>/model.onnx` for a run folder.
 * @throws MasamError naming `path` when neither exists
 */
export async function resolveModelPath(path: string): Promise<string> {
  const info = await stat(path).catch(() => undefined);
  if (!info) {
    throw new MasamError(
      `${path}: model not found (expected an exported .onnx file or a run folder with model.onnx)`,
    );
  }
  if (!info.isDirectory()) return path;
  const inside = join(path, RUN_MODEL_FILE);
  if (!(await stat(inside).catch(() => undefined))?.isFile()) {
    throw new MasamError(`${path}: the folder has no ${RUN_MODEL_FILE} (export the model there first)`);
  }
  return inside;
}

/**
 * Opens an exported masam model: reads its metadata (class names, preprocessing, D, S), checks its
 * signature and starts an ONNX Runtime session on `device`.
 * @throws MasamError naming the file when it is missing, not ONNX, not a masam export or not loadable
 */
export async function openModel(path: string, options: OpenModelOptions = {}): Promise<OpenedModel> {
  const file = await resolveModelPath(path);
  const bytes = await readFile(file).catch((err: Error) => {
    throw new MasamError(`${file}: cannot read the model (${err.message})`);
  });
  const info = modelInfoFromMetadata(inspectModel(bytes, file).metadata, file);
  let session: OrtSession;
  try {
    session = await OrtSession.fromFile(file, {
      ...(options.device ? { device: options.device } : {}),
      ...(options.threads ? { threads: options.threads } : {}),
    });
  } catch (err) {
    const hint =
      options.device === 'cuda'
        ? " (for --device cuda install ORT's CUDA binaries: see 'GPU (CUDA)' in docs/ENGINE.md)"
        : '';
    throw new MasamError(`${(err as Error).message}${hint}`);
  }
  let run: StackRunner;
  try {
    run = sessionStackRunner(session, info);
  } catch (err) {
    await session.release();
    throw new MasamError(`${file}: ${(err as Error).message}`);
  }
  return { path: file, info, session, run, release: () => session.release() };
}
