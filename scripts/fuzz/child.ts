// The fuzz child process: runs inputs one at a time for the parent (sandbox.ts), which kills it on a hang or
// when its memory passes the cap. For each input it measures peak resident memory while parsing (Linux:
// peak_memory.ts) and classifies the outcome.
import { MasamError } from '../../src/core/errors.js';
import { initDicomCodecs } from '../../src/io/dicom.js';
import { fuzzInput, seedsOf } from './inputs.js';
import { type Outcome, allocationAllowance } from './outcome.js';
import { startPeakMeasure } from './peak_memory.js';
import { targetNamed } from './targets.js';

export type ChildRequest =
  | { readonly kind: 'prepare'; readonly target: string }
  | { readonly kind: 'run'; readonly target: string; readonly runSeed: number; readonly index: number }
  | { readonly kind: 'replay'; readonly target: string; readonly input: Uint8Array };

/** Bytes held by typed arrays reachable from `value` (each buffer once). */
function typedArrayBytes(value: unknown): number {
  const seen = new Set<unknown>();
  let total = 0;
  const visit = (v: unknown, depth: number): void => {
    if (v === null || typeof v !== 'object' || seen.has(v) || depth > 8) return;
    seen.add(v);
    if (ArrayBuffer.isView(v)) {
      if (!seen.has(v.buffer)) {
        seen.add(v.buffer);
        total += v.buffer.byteLength;
      }
      return;
    }
    const children = v instanceof Map ? [...v.values()] : Object.values(v);
    for (const c of children) visit(c, depth + 1);
  };
  visit(value, 0);
  return total;
}

const gc = (globalThis as { gc?: () => void }).gc ?? (() => {});
const GC_EVERY = 32;
let inputsRun = 0;

async function runOne(request: ChildRequest): Promise<Outcome> {
  const target = targetNamed(request.target);
  if (request.kind === 'prepare') {
    // Seeds (bombs included) are generated once per child, before any input is timed.
    seedsOf(target);
    return { kind: 'valid', detail: 'prepared' };
  }
  const input = request.kind === 'run' ? fuzzInput(target, request.runSeed, request.index) : request.input;
  // A full collection costs tens of ms; between them the garbage of earlier inputs stays in the heap
  // already resident, so it does not raise the peak measured for this one.
  if (++inputsRun % GC_EVERY === 0 || request.kind === 'replay') gc();
  const measure = startPeakMeasure();
  const t0 = performance.now();
  let kind: Outcome['kind'];
  let detail = '';
  let stack: string | undefined;
  let resultBytes = 0;
  try {
    const result = await target.run(input);
    kind = 'valid';
    resultBytes = typedArrayBytes(result);
  } catch (err) {
    const e = err as Error;
    kind = err instanceof MasamError ? 'typed' : 'untyped';
    detail = `${e?.name ?? typeof err}: ${e?.message ?? String(err)}`;
    stack = e?.stack;
  }
  const ms = performance.now() - t0;
  const peakGrowth = measure();
  if (
    kind !== 'untyped' &&
    peakGrowth > allocationAllowance(input.length, resultBytes, target.declaredBytes)
  ) {
    detail = `peak memory grew ${(peakGrowth / 1024 ** 2).toFixed(1)} MiB for a ${input.length}-byte input (${kind}${detail ? `: ${detail}` : ''})`;
    kind = 'allocation';
  }
  return { kind, detail, ...(stack && { stack }), inputBytes: input.length, peakGrowth, resultBytes, ms };
}

await initDicomCodecs();
process.on('message', (request: ChildRequest) => {
  runOne(request).then(
    (outcome) => process.send!(outcome),
    (err) => process.send!({ kind: 'crash', detail: `harness: ${(err as Error).stack}` } satisfies Outcome),
  );
});
process.send!({ kind: 'ready' });
