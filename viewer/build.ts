// Builds the browser viewer into dist/viewer-app/: esbuild bundles the page (app.ts) and its Web Worker
// (worker.ts) as ES modules, and the HTML, CSS and onnxruntime-web's WASM files are copied beside them, so
// the app is fully static and needs no network. Run by `npm run build` (and so by `npm ci`).
// Usage: tsx viewer/build.ts [--out dir] [--dev]   (--dev: no minification, inline source maps)
import { copyFileSync, mkdirSync, rmSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { build } from 'esbuild';

const here = dirname(fileURLToPath(import.meta.url));
const root = resolve(here, '..');
/** The onnxruntime-web runtime the bundle loads: the JSEP build serves both the WebGPU and WASM backends. */
export const ORT_FILES = ['ort-wasm-simd-threaded.jsep.mjs', 'ort-wasm-simd-threaded.jsep.wasm'];

export async function buildViewer(outDir: string, dev = false): Promise<void> {
  rmSync(outDir, { recursive: true, force: true });
  mkdirSync(join(outDir, 'ort'), { recursive: true });
  await build({
    entryPoints: { app: join(here, 'app.ts'), worker: join(here, 'worker.ts') },
    outdir: outDir,
    bundle: true,
    format: 'esm',
    platform: 'browser',
    target: ['chrome113', 'firefox121', 'safari17'],
    // onnxruntime-web's plain (non-bundled) build: it imports its WASM glue from env.wasm.wasmPaths at run
    // time, so the WASM threads start from a real URL instead of the bundle.
    conditions: ['onnxruntime-web-use-extern-wasm'],
    minify: !dev,
    sourcemap: dev ? 'inline' : false,
    legalComments: 'linked',
    logLevel: 'warning',
  });
  copyFileSync(join(here, 'index.html'), join(outDir, 'index.html'));
  copyFileSync(join(here, 'styles.css'), join(outDir, 'styles.css'));
  // 'onnxruntime-web' resolves (require condition) to dist/ort.min.js: the WASM files sit beside it.
  const ortDist = dirname(createRequire(import.meta.url).resolve('onnxruntime-web'));
  for (const file of ORT_FILES) copyFileSync(join(ortDist, file), join(outDir, 'ort', file));
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const { values } = parseArgs({
    options: { out: { type: 'string' }, dev: { type: 'boolean', default: false } },
  });
  const outDir = resolve(values.out ?? join(root, 'dist', 'viewer-app'));
  const start = performance.now();
  await buildViewer(outDir, values.dev);
  const mb = (f: string) => (statSync(join(outDir, f)).size / 1e6).toFixed(2);
  console.log(
    `viewer → ${outDir} (app.js ${mb('app.js')} MB, worker.js ${mb('worker.js')} MB) in ${((performance.now() - start) / 1000).toFixed(1)} s`,
  );
}
