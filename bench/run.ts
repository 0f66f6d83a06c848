// `npm run bench -- <name> [--out file] [--only a,b]`: runs one benchmark (--only: some of its cases), writes its JSON (default
// bench/results/<name>.json) and a Markdown table beside it, and prints the table.
import { existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import * as ort from 'onnxruntime-node';
import type { BenchResult, PreviousResult } from './bench_result.js';
import { runBrowserBench } from './browser.js';
import { runDataBench } from './data.js';
import { runDemoBench } from './demo.js';
import { runEngineBench } from './engine.js';
import { runModelBench } from './model.js';
import { runPipelineBench } from './pipeline.js';
import { runServeBench } from './serve.js';
import { runStrideBench } from './stride.js';

/** Each benchmark gets its arguments (e.g. the model benchmark's `--only a,b`) and, with --only, the last result. */
const BENCHES: Record<string, (args: readonly string[], previous?: PreviousResult) => Promise<BenchResult>> =
  {
    browser: runBrowserBench,
    data: runDataBench,
    demo: runDemoBench,
    engine: runEngineBench,
    model: runModelBench,
    pipeline: runPipelineBench,
    serve: runServeBench,
    stride: runStrideBench,
  };

function writeAtomic(path: string, text: string): void {
  const tmp = `${path}.tmp-${process.pid}`;
  writeFileSync(tmp, text);
  renameSync(tmp, path);
}

function markdown(name: string, machine: Record<string, unknown>, result: BenchResult): string {
  const rows = result.metrics.map(
    (m) => `| ${m.name} | ${m.value.toPrecision(4)} | ${m.unit} | ${m.note ?? ''} |`,
  );
  return [
    `# Benchmark: ${name}`,
    '',
    `Machine: ${machine['cpu']} (${machine['cores']} cores, ${machine['memoryGiB']} GiB), node ${machine['node']}, onnxruntime-node ${machine['onnxruntime']}. ${machine['date']}`,
    '',
    '| metric | value | unit | how |',
    '|---|---|---|---|',
    ...rows,
    '',
    ...(result.notes ?? []).map((n) => `- ${n}`),
    '',
  ].join('\n');
}

async function main(): Promise<void> {
  const { positionals, values } = parseArgs({
    allowPositionals: true,
    options: { out: { type: 'string' }, only: { type: 'string' } },
  });
  const name = positionals[0];
  if (!name || !BENCHES[name]) {
    console.error(`usage: npm run bench -- <${Object.keys(BENCHES).join('|')}> [--out file.json]`);
    process.exit(2);
  }
  const machine = {
    cpu: cpus()[0]?.model ?? 'unknown',
    cores: cpus().length,
    memoryGiB: Math.round(totalmem() / 2 ** 30),
    node: process.version,
    onnxruntime: ort.env.versions.node,
    date: new Date().toISOString(),
  };
  const out = values.out ?? join(dirname(fileURLToPath(import.meta.url)), 'results', `${name}.json`);
  // A partial run (--only) hands the bench the file's previous result, to keep what it did not rerun.
  const previous =
    values.only && existsSync(out) ? (JSON.parse(readFileSync(out, 'utf8')) as PreviousResult) : undefined;
  const result = await BENCHES[name]!(values.only ? ['--only', values.only] : [], previous);
  writeAtomic(out, `${JSON.stringify({ bench: name, machine, ...result }, null, 2)}\n`);
  const table = markdown(name, machine, result);
  writeAtomic(out.replace(/\.json$/, '') + '.md', table);
  console.log(table);
  console.log(`wrote ${out}`);
}

await main();
