// Profiles one MA-SAM run with ONNX Runtime's profiler and prints where the time goes, by op type and by
// model scope. Usage: tsx scripts/profile_model.ts [preset] [forward|train]   (default: vit_b forward)
import { readFileSync, rmSync } from 'node:fs';
import { grad } from '../src/autodiff/index.js';
import { type HostTensor, Rng, hostTensor } from '../src/core/index.js';
import { Graph, type Value } from '../src/graph/index.js';
import { MaSam, declareMaSamParams } from '../src/models/masam/masam.js';
import { trainableNames } from '../src/models/masam/trainable.js';
import { type PresetName, resolveConfig } from '../src/models/sam/config.js';
import { ParamScope, ParamSource, type Weights } from '../src/nn/index.js';
import { compile } from '../src/runtime/index.js';
import { segmentationLoss } from '../src/train/losses.js';

const preset = (process.argv[2] ?? 'vit_b') as PresetName;
const mode = process.argv[3] ?? 'forward';
const cfg = resolveConfig(preset);
const [d, s] = [cfg.slices, cfg.img_size];
const weights: Weights = new Map();
new MaSam(cfg, new ParamScope(new ParamSource({ graph: new Graph(), weights, rng: new Rng(1) })));
const trainable = mode === 'train' ? trainableNames(declareMaSamParams(cfg).groups) : undefined;

const graph = new Graph();
const source = new ParamSource({ graph, weights, ...(trainable ? { trainable } : {}) });
const out = new MaSam(cfg, new ParamScope(source)).forward(graph.input('image', 'float32', [1, d, 3, s, s]));
const fetch: Record<string, Value> = {};
if (trainable) {
  const { loss } = segmentationLoss(out.lowResLogits, graph.input('label', 'int32', [d, s, s]));
  fetch['loss'] = loss;
  const names = [...trainable];
  grad(
    loss,
    names.map((n) => source.valueOf(n)),
  ).forEach((g, i) => {
    if (g) fetch[`grad/${names[i]}`] = g;
  });
} else {
  fetch['masks'] = out.masks;
}

const prefix = `/tmp/masam-profile-${process.pid}`;
const session = await compile(fetch, { profilePrefix: prefix });
const rng = new Rng(2);
const feeds: Record<string, HostTensor> = {
  image: hostTensor(
    'float32',
    [1, d, 3, s, s],
    Float32Array.from({ length: d * 3 * s * s }, () => rng.uniform()),
  ),
  label: hostTensor(
    'int32',
    [d, s, s],
    Int32Array.from({ length: d * s * s }, () => rng.int(cfg.num_classes + 1)),
  ),
};
for (const spec of session.inputs)
  if (!(spec.name in feeds) && weights.has(spec.name)) feeds[spec.name] = weights.get(spec.name)!;
for (const name of Object.keys(feeds)) if (!session.inputs.some((i) => i.name === name)) delete feeds[name];
const t0 = performance.now();
await session.run(feeds);
const total = (performance.now() - t0) / 1000;
session.endProfiling();

interface TraceEvent {
  cat: string;
  name: string;
  dur: number;
  args?: { op_name?: string };
}
const file = (await import('node:fs'))
  .readdirSync('/tmp')
  .find((f) => f.startsWith(`masam-profile-${process.pid}`))!;
const events = JSON.parse(readFileSync(`/tmp/${file}`, 'utf8')) as TraceEvent[];
rmSync(`/tmp/${file}`);
const kernels = events.filter((e) => e.cat === 'Node' && e.name.endsWith('_kernel_time'));
const byOp = new Map<string, number>();
const byScope = new Map<string, number>();
for (const e of kernels) {
  const op = e.args?.op_name ?? '?';
  byOp.set(op, (byOp.get(op) ?? 0) + e.dur);
  const scope = e.name
    .replace(/_kernel_time$/, '')
    .split('/')
    .slice(0, 3)
    .join('/')
    .replace(/blocks\.\d+/, 'blocks.*')
    .replace(/[A-Za-z]+_\d+#\d+.*$/, '');
  byScope.set(scope, (byScope.get(scope) ?? 0) + e.dur);
}
const kernelTotal = kernels.reduce((a, e) => a + e.dur, 0) / 1e6;
const show = (title: string, m: Map<string, number>) => {
  console.log(`\n${title}`);
  for (const [k, v] of [...m].sort((a, b) => b[1] - a[1]).slice(0, 14)) {
    console.log(
      `  ${(v / 1e6).toFixed(2).padStart(7)} s  ${((100 * v) / 1e6 / kernelTotal).toFixed(1).padStart(5)} %  ${k}`,
    );
  }
};
console.log(`${preset} ${mode}: run ${total.toFixed(2)} s, kernels ${kernelTotal.toFixed(2)} s`);
show('by op type', byOp);
show('by scope', byScope);
