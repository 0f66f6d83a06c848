// Profiles one exported graph (any .onnx: a split model's encoder.onnx or decoder.onnx, an int8 or fp16
// export) with ONNX Runtime's profiler and prints where the time goes by op type. Inputs are random
// (float inputs uniform on 0–1, boxes a centred box); one untimed warm-up run, then `runs` profiled runs.
// Usage: tsx scripts/profile_onnx.ts <model.onnx> [--threads N] [--runs N]
import { readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { type HostTensor, Rng, hostTensor } from '../src/core/index.js';
import { OrtSession } from '../src/runtime/index.js';

const { positionals, values } = parseArgs({
  allowPositionals: true,
  options: { threads: { type: 'string' }, runs: { type: 'string', default: '3' } },
});
const file = positionals[0];
if (!file) throw new Error('usage: tsx scripts/profile_onnx.ts <model.onnx> [--threads N] [--runs N]');
const runs = Number(values.runs);
const threads = values.threads === undefined ? {} : { threads: Number(values.threads) };

const plain = await OrtSession.fromFile(file, threads);
const rng = new Rng(2);
const feeds: Record<string, HostTensor> = {};
for (const spec of plain.inputs) {
  if (spec.dtype !== 'float32') throw new Error(`input ${spec.name}: ${spec.dtype} is not supported here`);
  const n = spec.shape.reduce((a, b) => a * b, 1);
  const data = Float32Array.from({ length: n }, () => rng.uniform());
  // A box in the middle of the image, points labelled foreground.
  if (spec.name === 'boxes') for (let i = 0; i < n; i++) data[i] = [40, 40, 90, 90][i % 4]!;
  if (spec.name === 'point_labels') data.fill(1);
  feeds[spec.name] = hostTensor('float32', spec.shape, data);
}
const warm = performance.now();
await plain.run(feeds);
const warmSeconds = (performance.now() - warm) / 1000;
const times: number[] = [];
for (let i = 0; i < runs; i++) {
  const t0 = performance.now();
  await plain.run(feeds);
  times.push((performance.now() - t0) / 1000);
}
await plain.release();

const prefix = join(tmpdir(), `masam-profile-${process.pid}`);
const profiled = await OrtSession.fromFile(file, { ...threads, profilePrefix: prefix });
await profiled.run(feeds);
profiled.endProfiling();
await profiled.release();

interface TraceEvent {
  cat: string;
  name: string;
  dur: number;
  args?: { op_name?: string };
}
const trace = readdirSync(tmpdir()).find((f) => f.startsWith(`masam-profile-${process.pid}`))!;
const events = JSON.parse(readFileSync(join(tmpdir(), trace), 'utf8')) as TraceEvent[];
rmSync(join(tmpdir(), trace));
const kernels = events.filter((e) => e.cat === 'Node' && e.name.endsWith('_kernel_time'));
const byOp = new Map<string, number>();
for (const e of kernels) byOp.set(e.args?.op_name ?? '?', (byOp.get(e.args?.op_name ?? '?') ?? 0) + e.dur);
const total = kernels.reduce((a, e) => a + e.dur, 0) / 1e6;
times.sort((a, b) => a - b);
console.log(
  `${file}: warm-up ${warmSeconds.toFixed(3)} s; median of ${runs} runs ${times[runs >> 1]!.toFixed(3)} s; ` +
    `kernels of the profiled run ${total.toFixed(3)} s`,
);
for (const [op, us] of [...byOp].sort((a, b) => b[1] - a[1]).slice(0, 16)) {
  console.log(
    `  ${(us / 1e6).toFixed(3).padStart(8)} s  ${((100 * us) / 1e6 / total).toFixed(1).padStart(5)} %  ${op}`,
  );
}
