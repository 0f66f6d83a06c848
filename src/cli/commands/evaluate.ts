// `masam evaluate --pred <file|folder> --gt <file|folder> --out <dir>`: scores predicted label maps against
// ground truth (Dice with the official empty-mask rules, HD95, ASSD, HD and NSD in mm from the NIfTI voxel
// spacing; masam-spec §10.3–10.4) and writes metrics.csv, summary.json, report.md and dice.png atomically.
// Everything is computed before anything is written, so a failed run leaves --out untouched.
import { mkdir, readFile, readdir, stat } from 'node:fs/promises';
import { basename, join, resolve } from 'node:path';
import { removeStaleTemporaries, writeFilesAtomic } from '../../api/files.js';
import { MasamError } from '../../core/errors.js';
import { formatShape } from '../../core/shape.js';
import { parseDatasetJson } from '../../data/dataset.js';
import type { Volume } from '../../io/volume.js';
import {
  type LabelArray,
  type LabelVolume,
  type MetricRow,
  type MetricsSummary,
  evaluateCase,
  nsdKey,
  rowsToCsv,
  summarize,
  summaryToJson,
  summaryToMarkdown,
} from '../../metrics/index.js';
import { barChartPng } from '../charts.js';
import { type Command, UsageError, parseCommandArgs, withExamples } from '../command.js';
import { naturalCompare, readVolume } from '../volume_files.js';

const USAGE = withExamples(
  [
    'Usage: masam evaluate --pred <file|folder> --gt <file|folder> --out <dir>',
    '                      [--labels dataset.json] [--nsd-tolerance 2] [--json]',
    '',
    'Scores predicted label maps against ground truth, per class and case: Dice (official empty-mask rules:',
    'class absent from both → 1, from one → 0), HD95, ASSD, HD and NSD in mm (voxel spacing from the',
    'ground-truth NIfTI; HD-type metrics are NaN where pred or gt lacks the class).',
    '',
    '--pred, --gt  two .nii/.nii.gz files, or two folders whose NIfTI files pair by name ({CASE}.nii.gz,',
    '              nnU-Net style; other files are ignored). One folder for both pairs the official',
    '              test.py output {CASE}_pred.nii.gz ↔ {CASE}_gt.nii.gz. Unpaired cases are an error.',
    '--out <dir>   writes metrics.csv (one row per case and class), summary.json, report.md and dice.png',
    '',
    'Options:',
    '  --labels <dataset.json>  class names, and its classes are scored even where no case has them',
    '                           (default: the label values found in the ground truth, named class_<n>)',
    '  --nsd-tolerance <mm>     NSD tolerance(s) in mm, comma-separated (default 2)',
    '  --json                   print summary.json instead of the per-class table',
  ].join('\n'),
  [
    'masam evaluate --pred preds/ --gt Dataset001_BTCV/labelsTs --labels Dataset001_BTCV/dataset.json --out report/',
    'masam evaluate --pred case_seg.nii.gz --gt case_gt.nii.gz --out report/ --nsd-tolerance 1,2',
  ],
);

function parse(args: string[]) {
  return parseCommandArgs({
    args,
    options: {
      pred: { type: 'string' },
      gt: { type: 'string' },
      labels: { type: 'string' },
      'nsd-tolerance': { type: 'string', default: '2' },
      out: { type: 'string' },
      json: { type: 'boolean', default: false },
    },
    allowPositionals: false,
    strict: true,
  });
}

const NIFTI_EXT = /\.nii(\.gz)?$/i;

/** One prediction / ground-truth pair. */
export interface CasePair {
  readonly id: string;
  readonly pred: string;
  readonly gt: string;
}

/** NIfTI files of a folder by case id (name without .nii/.nii.gz); hidden files are skipped. */
async function niftiFiles(dir: string): Promise<Map<string, string>> {
  const byId = new Map<string, string>();
  for (const e of await readdir(dir, { withFileTypes: true })) {
    if (e.name.startsWith('.') || !NIFTI_EXT.test(e.name)) continue;
    const path = join(dir, e.name);
    if (!(e.isFile() || (e.isSymbolicLink() && (await stat(path).catch(() => undefined))?.isFile())))
      continue;
    const id = e.name.replace(NIFTI_EXT, '');
    const other = byId.get(id);
    if (other !== undefined)
      throw new MasamError(`${dir}: case ${id} has two files (${basename(other)}, ${e.name})`);
    byId.set(id, path);
  }
  return byId;
}

/** Keeps the ids ending in `suffix`, with the suffix removed. */
function withSuffix(files: ReadonlyMap<string, string>, suffix: string): Map<string, string> {
  return new Map(
    [...files].filter(([id]) => id.endsWith(suffix)).map(([id, p]) => [id.slice(0, -suffix.length), p]),
  );
}

/** A list for error messages: the first 20 names, then a count. */
function listNames(names: readonly string[]): string {
  return names.length <= 20
    ? names.join(', ')
    : `${names.slice(0, 20).join(', ')}, … (${names.length - 20} more)`;
}

/**
 * Pairs predictions with ground truth: two files make one case (named after the ground truth); two
 * folders pair their NIfTI files by case id; one folder for both pairs `{CASE}_pred` with `{CASE}_gt`
 * (when it has such names; otherwise each file with itself).
 * Cases come back in natural name order.
 * @throws MasamError listing every unpaired case, or when a folder holds no NIfTI file
 */
export async function pairCases(pred: string, gt: string): Promise<CasePair[]> {
  const found = (path: string, flag: string) =>
    stat(path).catch(() => {
      throw new MasamError(`${flag} ${path}: no such file or folder`);
    });
  const [ps, gs] = await Promise.all([found(pred, '--pred'), found(gt, '--gt')]);
  if (ps.isFile() && gs.isFile()) {
    return [{ id: basename(gt).replace(NIFTI_EXT, ''), pred, gt }];
  }
  if (!ps.isDirectory() || !gs.isDirectory()) {
    throw new UsageError(`--pred and --gt must both be files or both be folders ('${pred}', '${gt}')`);
  }
  let predFiles = await niftiFiles(pred);
  let gtFiles = predFiles;
  if (resolve(pred) === resolve(gt)) {
    // The official test.py output; a folder without such names is scored against itself (a self-check).
    const p = withSuffix(predFiles, '_pred');
    const g = withSuffix(predFiles, '_gt');
    if (p.size > 0 || g.size > 0) [predFiles, gtFiles] = [p, g];
  } else {
    gtFiles = await niftiFiles(gt);
  }
  if (predFiles.size === 0) throw new MasamError(`${pred}: no .nii/.nii.gz prediction files`);
  if (gtFiles.size === 0) throw new MasamError(`${gt}: no .nii/.nii.gz ground-truth files`);
  const predOnly = [...predFiles.keys()].filter((id) => !gtFiles.has(id)).sort(naturalCompare);
  const gtOnly = [...gtFiles.keys()].filter((id) => !predFiles.has(id)).sort(naturalCompare);
  const problems: string[] = [];
  if (predOnly.length > 0)
    problems.push(`${predOnly.length} prediction(s) without ground truth: ${listNames(predOnly)}`);
  if (gtOnly.length > 0)
    problems.push(`${gtOnly.length} ground truth file(s) without prediction: ${listNames(gtOnly)}`);
  if (problems.length > 0)
    throw new MasamError(`unpaired cases (pred ${pred}, gt ${gt}):\n  ${problems.join('\n  ')}`);
  return [...gtFiles.keys()]
    .sort(naturalCompare)
    .map((id) => ({ id, pred: predFiles.get(id)!, gt: gtFiles.get(id)! }));
}

/**
 * A volume as a 3D label map: trailing size-1 axes beyond the third dropped, uint8/int16/int32 data kept
 * as is, other dtypes (float32 as the official test.py writes, uint16, int64, …) converted to int32 after
 * checking every value is an integer.
 * @throws MasamError naming `source` for a non-integer value or more than 3 non-trivial axes
 */
export function toLabelVolume(volume: Volume, source: string): Required<LabelVolume> {
  const shape = [...volume.shape];
  while (shape.length > 3 && shape[shape.length - 1] === 1) shape.pop();
  if (shape.length > 3) {
    throw new MasamError(`${source}: shape ${formatShape(volume.shape)} is not a 3D label map`);
  }
  const spacing = volume.spacing.slice(0, shape.length);
  const d = volume.data;
  if (d instanceof Uint8Array || d instanceof Int16Array || d instanceof Int32Array) {
    return { data: d as LabelArray, shape, spacing };
  }
  const out = new Int32Array(d.length);
  for (let i = 0; i < d.length; i++) {
    const v = Number(d[i]!);
    if (!Number.isInteger(v) || v < -(2 ** 31) || v >= 2 ** 31) {
      throw new MasamError(`${source}: value ${v} at voxel ${i} is not an integer label`);
    }
    out[i] = v;
  }
  return { data: out, shape, spacing };
}

/** The distinct positive values of a label map, ascending. */
export function foregroundLabels(data: LabelArray): number[] {
  const small = new Uint8Array(256);
  const big = new Set<number>();
  for (let i = 0; i < data.length; i++) {
    const v = data[i]!;
    if (v > 0 && v < 256) small[v] = 1;
    else if (v >= 256) big.add(v);
  }
  const out: number[] = [];
  small.forEach((hit, v) => {
    if (hit) out.push(v);
  });
  return [...out, ...[...big].sort((a, b) => a - b)];
}

/** What {@link evaluateFiles} computes. */
export interface Evaluation {
  readonly rows: readonly MetricRow[];
  readonly summary: MetricsSummary;
  /** Class id → display name, for every scored class. */
  readonly classNames: Readonly<Record<number, string>>;
  readonly nsdToleranceMm: readonly number[];
  /** Problems that did not stop the evaluation (spacing disagreements, classes only in predictions). */
  readonly warnings: readonly string[];
}

/** Inputs of {@link evaluateFiles}. */
export interface EvaluateFilesOptions {
  /** Label name → value (dataset.json), background included; names classes and adds them to the scored set. */
  readonly labels?: Readonly<Record<string, number>>;
  /** NSD tolerances in mm; default [2]. */
  readonly nsdToleranceMm?: readonly number[];
  /** Called after each case (progress). */
  readonly onCase?: (done: number, total: number, id: string) => void;
}

/** An empty grid: scoring a class on it gives the "absent from both" values of every metric. */
const EMPTY: LabelVolume = { data: new Uint8Array(1), shape: [1] };

/**
 * Reads and scores every pair. The scored classes are the foreground values of the ground truth (all
 * cases) together with the non-zero `labels`; a case lacking a class in both pred and gt scores it by
 * the empty-mask rules. Prediction values outside that set are reported in `warnings`, not scored.
 * Spacing (mm) comes from the ground truth; a prediction whose spacing differs is scored on the
 * ground-truth grid and noted in `warnings`.
 * @throws MasamError naming the case when shapes differ or a file is not a label map
 */
export async function evaluateFiles(
  pairs: readonly CasePair[],
  options: EvaluateFilesOptions = {},
): Promise<Evaluation> {
  const tolerances = options.nsdToleranceMm ?? [2];
  const datasetClasses = Object.values(options.labels ?? {}).filter((v) => v > 0);
  const perCase: { id: string; rows: MetricRow[] }[] = [];
  const scored = new Set<number>(datasetClasses);
  const predOnly = new Map<number, string[]>();
  const spacingNotes: string[] = [];
  for (const [n, pair] of pairs.entries()) {
    const gt = toLabelVolume(await readVolume(pair.gt), pair.gt);
    const pred = toLabelVolume(await readVolume(pair.pred), pair.pred);
    if (formatShape(pred.shape) !== formatShape(gt.shape)) {
      throw new MasamError(
        `case ${pair.id}: prediction shape ${formatShape(pred.shape)} differs from ground-truth shape ${formatShape(gt.shape)} (${pair.pred}, ${pair.gt})`,
      );
    }
    const spacing = gt.spacing;
    const close = (a: number, b: number) => Math.abs(a - b) <= 1e-4 * Math.max(Math.abs(a), Math.abs(b));
    if (!pred.spacing.every((s, a) => close(s, spacing[a]!))) {
      spacingNotes.push(`${pair.id} (pred ${formatShape(pred.spacing)}, gt ${formatShape(spacing)})`);
    }
    const gtClasses = foregroundLabels(gt.data);
    const predClasses = foregroundLabels(pred.data);
    for (const c of gtClasses) scored.add(c);
    for (const c of predClasses) predOnly.set(c, [...(predOnly.get(c) ?? []), pair.id]);
    const classes = [...new Set([...datasetClasses, ...gtClasses, ...predClasses])].sort((a, b) => a - b);
    const rows = evaluateCase(pair.id, { data: pred.data, shape: gt.shape, spacing }, gt, {
      classes,
      nsdToleranceMm: tolerances,
    });
    perCase.push({ id: pair.id, rows });
    options.onCase?.(n + 1, pairs.length, pair.id);
  }
  const classIds = [...scored].sort((a, b) => a - b);
  if (classIds.length === 0) {
    throw new MasamError(
      'no classes to score: the ground truth holds only background (pass --labels dataset.json to score its classes)',
    );
  }
  // Every case gets a row per scored class; classes only in predictions are left out.
  const rows = perCase.flatMap(({ id, rows: mine }) => {
    const have = new Map(mine.map((r) => [r.classId, r]));
    const missing = classIds.filter((c) => !have.has(c));
    for (const r of missing.length > 0
      ? evaluateCase(id, EMPTY, EMPTY, { classes: missing, nsdToleranceMm: tolerances })
      : []) {
      have.set(r.classId, r);
    }
    return classIds.map((c) => have.get(c)!);
  });
  const warnings: string[] = [];
  if (spacingNotes.length > 0) {
    warnings.push(
      `prediction spacing differs from the ground truth's, which is used: ${listNames(spacingNotes)}`,
    );
  }
  for (const [c, ids] of predOnly) {
    if (!scored.has(c))
      warnings.push(`label ${c} appears only in predictions (${listNames(ids)}) and is not scored`);
  }
  const nameOf = new Map(Object.entries(options.labels ?? {}).map(([name, v]) => [v, name]));
  const classNames = Object.fromEntries(classIds.map((c) => [c, nameOf.get(c) ?? `class_${c}`]));
  return { rows, summary: summarize(rows), classNames, nsdToleranceMm: tolerances, warnings };
}

/** summary.json: the metrics summary with class names, tolerances and case count. */
export function evaluationJson(e: Evaluation): Record<string, unknown> {
  return {
    cases: e.summary.caseIds.length,
    classNames: e.classNames,
    nsdToleranceMm: e.nsdToleranceMm,
    ...summaryToJson(e.summary),
    warnings: e.warnings,
  };
}

function fixed(v: number | undefined, digits: number): string {
  return v === undefined || Number.isNaN(v) ? 'NaN' : v.toFixed(digits);
}

/** The short per-class table printed by `masam evaluate`: Dice, HD95 and the first NSD, mean ± std. */
export function formatTable(e: Evaluation): string {
  const nsd = nsdKey(e.nsdToleranceMm[0]!);
  const cols: [string, string, number][] = [
    ['Dice', 'dice', 4],
    ['HD95 (mm)', 'hd95', 2],
    [`NSD@${e.nsdToleranceMm[0]}mm`, nsd, 4],
  ];
  const width = Math.max(5, ...Object.values(e.classNames).map((n) => n.length));
  const cell = (s: string) => s.padEnd(20);
  const lines = [`${'class'.padEnd(width)}  ${cols.map(([h]) => cell(h)).join('')}`.trimEnd()];
  for (const c of e.summary.perClass) {
    const cells = cols.map(([, key, d]) => {
      const s = c.stats[key];
      const text = `${fixed(s?.mean, d)} ± ${fixed(s?.std, d)}`;
      return cell(s && s.nanCount > 0 ? `${text} (n=${s.n})` : text);
    });
    lines.push(`${e.classNames[c.classId]!.padEnd(width)}  ${cells.join('')}`.trimEnd());
  }
  lines.push(
    `${'mean'.padEnd(width)}  ${cols.map(([, key, d]) => cell(fixed(e.summary.overall[key], d))).join('')}`.trimEnd(),
  );
  return lines.join('\n');
}

/** report.md: inputs, the per-class table, per-case means, the chart and how to read NaN. */
export function reportMarkdown(e: Evaluation, inputs: { pred: string; gt: string }): string {
  const s = e.summary;
  const caseCols = ['dice', 'hd95', ...e.nsdToleranceMm.map(nsdKey)];
  const lines = [
    '# Evaluation',
    '',
    `- predictions: \`${inputs.pred}\``,
    `- ground truth: \`${inputs.gt}\``,
    `- ${s.caseIds.length} case(s), ${s.perClass.length} class(es); NSD tolerance ${e.nsdToleranceMm.join(', ')} mm`,
    '',
    '## Per class (mean ± std over cases)',
    '',
    summaryToMarkdown(s, { classNames: e.classNames }).trimEnd(),
    '',
    '![Mean Dice per class with std error bars](dice.png)',
    '',
    '## Per case (mean over classes)',
    '',
    `| case | ${caseCols.join(' | ')} |`,
    `|---|${caseCols.map(() => '---|').join('')}`,
    ...s.perCase.map((c) => `| ${c.caseId} | ${caseCols.map((m) => fixed(c.means[m], 4)).join(' | ')} |`),
    '',
    '## Notes',
    '',
    '- Dice follows the official empty-mask rules (masam-spec §10.3): a class absent from both prediction and',
    '  ground truth scores 1, absent from exactly one scores 0. NSD uses the same convention.',
    '- HD95, ASSD and HD are in mm and undefined (NaN) where prediction or ground truth lacks the class; such',
    '  cases are left out of the means, and `(n=…)` gives the number of cases that entered.',
    '- Overall means are means over classes of the per-class means.',
    ...e.warnings.map((w) => `- Warning: ${w}`),
    '',
  ];
  return lines.join('\n');
}

function toleranceList(text: string): number[] {
  const list = text.split(',').map((t) => Number(t.trim()));
  if (list.length === 0 || !list.every((t) => Number.isFinite(t) && t >= 0)) {
    throw new UsageError(`--nsd-tolerance must be non-negative numbers in mm (e.g. 2 or 1,2), got '${text}'`);
  }
  return list;
}

async function readLabels(path: string): Promise<Record<string, number>> {
  let json: unknown;
  try {
    json = JSON.parse(await readFile(path, 'utf8'));
  } catch (err) {
    throw new MasamError(`${path}: ${(err as Error).message}`);
  }
  return { ...parseDatasetJson(json, path).labels };
}

/** Every report file of an evaluation, rendered in memory: metrics.csv, summary.json, report.md, dice.png. */
export function renderReport(
  evaluation: Evaluation,
  inputs: { pred: string; gt: string },
): [string, Uint8Array][] {
  const { summary, classNames } = evaluation;
  const json = evaluationJson(evaluation);
  return [
    ['metrics.csv', new TextEncoder().encode(rowsToCsv(evaluation.rows))],
    ['summary.json', new TextEncoder().encode(`${JSON.stringify(json, null, 2)}\n`)],
    ['report.md', new TextEncoder().encode(reportMarkdown(evaluation, inputs))],
    [
      'dice.png',
      barChartPng({
        labels: summary.perClass.map((c) => classNames[c.classId]!),
        values: summary.perClass.map((c) => c.stats['dice']!.mean),
        errors: summary.perClass.map((c) => c.stats['dice']!.std),
        title: `Mean Dice per class (${summary.caseIds.length} case${summary.caseIds.length === 1 ? '' : 's'})`,
        yLabel: 'Dice',
        yMax: 1,
      }),
    ],
  ];
}

/** The `evaluate` subcommand (listed in main.ts). */
export const evaluate: Command = {
  name: 'evaluate',
  summary: 'score predicted label maps against ground truth (Dice, HD95, NSD) and write a report',
  usage: USAGE,
  async run(args: string[]): Promise<number> {
    const parsed = parse(args);
    const { values } = parsed;
    for (const key of ['pred', 'gt', 'out'] as const) {
      if (values[key] === undefined) throw new UsageError(`--${key} is required`);
    }
    const [pred, gt, out] = [values.pred!, values.gt!, values.out!];
    const tolerances = toleranceList(values['nsd-tolerance']);
    const outStat = await stat(out).catch(() => undefined);
    if (outStat && !outStat.isDirectory()) throw new UsageError(`--out '${out}' exists and is not a folder`);
    const labels = values.labels === undefined ? undefined : await readLabels(values.labels);
    const pairs = await pairCases(pred, gt);
    const tty = process.stderr.isTTY === true && !values.json;
    const evaluation = await evaluateFiles(pairs, {
      ...(labels ? { labels } : {}),
      nsdToleranceMm: tolerances,
      ...(tty
        ? { onCase: (done, total, id) => process.stderr.write(`\r${done}/${total} ${id}`.padEnd(60)) }
        : {}),
    });
    if (tty) process.stderr.write('\r'.padEnd(61) + '\r');
    // Render everything first: an error above or here leaves --out untouched.
    const files = renderReport(evaluation, { pred, gt });
    const { summary } = evaluation;
    const json = evaluationJson(evaluation);
    await mkdir(out, { recursive: true });
    await removeStaleTemporaries(out);
    // One set: a failed write (a full disk) leaves the previous report whole, not half old, half new.
    await writeFilesAtomic(files.map(([name, bytes]) => [join(out, name), bytes]));
    for (const w of evaluation.warnings) console.error(`masam evaluate: warning: ${w}`);
    if (values.json) {
      console.log(JSON.stringify(json, null, 2));
    } else {
      console.log(formatTable(evaluation));
      console.log(`\n${summary.caseIds.length} case(s); wrote ${files.map(([n]) => n).join(', ')} to ${out}`);
    }
    return 0;
  },
};
