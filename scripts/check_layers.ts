// Enforces the layer ladder of docs/ARCHITECTURE.md: imports point down only, and the browser-safe
// layers never touch Node-only modules. Run in CI (`npm run check-layers`).
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { join, relative, resolve, sep } from 'node:path';

/** Direct dependencies of each layer; what they depend on is allowed too (transitive closure below). */
const LADDER: Record<string, string[]> = {
  core: [],
  graph: ['core'],
  ops: ['graph'],
  autodiff: ['ops'],
  onnx: ['ops'],
  runtime: ['onnx'],
  nn: ['ops'],
  models: ['nn'],
  io: ['core'],
  data: ['io'],
  metrics: ['core'],
  train: ['models', 'autodiff', 'runtime', 'data', 'metrics'],
  infer: ['models', 'runtime', 'data', 'io', 'metrics'],
  api: ['train', 'infer', 'io', 'metrics'],
  serve: ['api', 'infer', 'io'],
  queue: ['core'],
  cli: ['api', 'train', 'infer', 'io', 'metrics', 'serve', 'queue'],
  viewer: ['infer', 'io', 'runtime'],
};
/** Layers that must stay browser-safe: no `node:` or Node built-in imports. */
const BROWSER_SAFE = new Set([
  'core',
  'graph',
  'ops',
  'autodiff',
  'onnx',
  'nn',
  'models',
  'io',
  'data',
  'metrics',
  'infer',
]);
const NODE_BUILTINS = /^(node:|fs$|path$|os$|child_process$|worker_threads$|zlib$|crypto$|url$)/;

function closure(layer: string, seen = new Set<string>()): Set<string> {
  for (const dep of LADDER[layer] ?? []) {
    if (!seen.has(dep)) {
      seen.add(dep);
      closure(dep, seen);
    }
  }
  return seen;
}

function files(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const p = join(dir, name);
    return statSync(p).isDirectory() ? files(p) : p.endsWith('.ts') ? [p] : [];
  });
}

const srcRoot = resolve('src');
const problems: string[] = [];
for (const file of files(srcRoot)) {
  const rel = relative(srcRoot, file);
  if (rel.endsWith('.test.ts')) continue;
  const parts = rel.split(sep);
  if (parts.length < 2) continue; // src/index.ts is the package root and may import any layer
  const layer = parts[0]!;
  if (!(layer in LADDER)) {
    problems.push(`${rel}: directory '${layer}' is not a known layer (add it to scripts/check_layers.ts)`);
    continue;
  }
  const allowed = closure(layer);
  const text = readFileSync(file, 'utf8');
  for (const m of text.matchAll(/^\s*(?:import|export)\s[^'"]*?from\s+['"]([^'"]+)['"]/gm)) {
    const spec = m[1]!;
    const line = text.slice(0, m.index).split('\n').length;
    if (spec.startsWith('.')) {
      const target = relative(srcRoot, resolve(join(file, '..'), spec)).split(sep)[0]!;
      if (target !== layer && !allowed.has(target)) {
        problems.push(`${rel}:${line}: layer '${layer}' may not import '${target}' (${spec})`);
      }
    } else if (BROWSER_SAFE.has(layer) && NODE_BUILTINS.test(spec)) {
      problems.push(`${rel}:${line}: browser-safe layer '${layer}' imports Node module '${spec}'`);
    }
  }
}
if (problems.length > 0) {
  console.error(`layer check failed:\n${problems.join('\n')}`);
  process.exit(1);
}
console.log('layer check: imports point down the ladder');
