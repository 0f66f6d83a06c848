// compile: traced graph → ONNX → an ORT session, cached by the model's hash so re-tracing the same
// computation (same structure, shapes and weights) reuses the session.
import { createHash } from 'node:crypto';
import type { Value } from '../graph/index.js';
import { type ExportOptions, type ExportedModel, exportModel } from '../onnx/export.js';
import { OrtSession, type OrtSessionOptions } from './ort_node.js';

const cache = new Map<string, Promise<OrtSession>>();

export interface CompileOptions extends OrtSessionOptions, Omit<ExportOptions, 'outputs'> {}

/** Hash of the model bytes and the session options that change the compiled result. */
export function modelHash(exported: ExportedModel, options: OrtSessionOptions): string {
  const h = createHash('sha256');
  h.update(exported.model);
  for (const chunk of exported.externalData?.chunks ?? []) h.update(chunk);
  h.update(
    JSON.stringify([
      options.device ?? 'cpu',
      options.threads ?? 0,
      options.optimization ?? 'all',
      options.memoryArena ?? true,
    ]),
  );
  return h.digest('hex');
}

/** Compiles `outputs` of their graph into a session (cached; profiling sessions are never cached). */
export async function compile(
  outputs: Readonly<Record<string, Value>>,
  options: CompileOptions = {},
): Promise<OrtSession> {
  const first = Object.values(outputs)[0];
  if (!first) throw new Error('compile: no outputs');
  const exported = exportModel(first.graph, { ...options, outputs });
  if (options.profilePrefix) return OrtSession.create(exported, options);
  const key = modelHash(exported, options);
  let session = cache.get(key);
  if (!session) {
    session = OrtSession.create(exported, options);
    cache.set(key, session);
    session.catch(() => cache.delete(key));
  }
  return session;
}

/** Releases every cached session (tests and long-running processes call this between models). */
export async function clearCompileCache(): Promise<void> {
  const sessions = [...cache.values()];
  cache.clear();
  await Promise.allSettled(sessions.map(async (s) => (await s).release()));
}
