// Evaluation report: metrics per case × class, mean ± std per class, and CSV / Markdown / JSON-able
// renderings (strings and plain objects; the CLI writes the files). Aggregation follows masam-spec §10.3.
import { classOverlapCounts, officialDice } from './dice.js';
import { type LabelVolume, classList, pairGrid } from './label_volume.js';
import { assd, hausdorff, hd95, nsd, surfaceDistances } from './surface.js';

/** Metric values of one class in one case, keyed by metric name ('dice', 'hd95', 'nsd@1mm', …). */
export interface MetricRow {
  readonly caseId: string;
  readonly classId: number;
  readonly values: Readonly<Record<string, number>>;
}

/** What {@link evaluateCase} computes. */
export interface EvaluateOptions {
  /** Classes to score: a number C means 1..C, or an explicit list of label ids. */
  readonly classes: number | readonly number[];
  /** Compute the surface metrics (hd95, assd, hd, nsd@τ). Default true; false gives Dice only (cheap). */
  readonly surface?: boolean;
  /** NSD tolerances in mm. Default [1, 2]; each adds a column `nsd@<τ>mm`. */
  readonly nsdToleranceMm?: readonly number[];
}

/** Column name of NSD at a tolerance: `nsd@1mm`, `nsd@0.5mm`. */
export function nsdKey(toleranceMm: number): string {
  return `nsd@${toleranceMm}mm`;
}

/**
 * Scores one case: one row per class with `dice` (official empty-mask table, never NaN) and, unless
 * `surface` is false, `hd95`, `assd`, `hd` in mm (NaN when pred or gt lacks the class) and `nsd@τmm`
 * (1 when both lack it, 0 when one does). Spacing comes from the volumes (1 mm when absent).
 */
export function evaluateCase(
  caseId: string,
  pred: LabelVolume,
  gt: LabelVolume,
  options: EvaluateOptions,
): MetricRow[] {
  pairGrid('evaluateCase', pred, gt);
  const classes = classList('evaluateCase', options.classes);
  const counts = classOverlapCounts(pred, gt, classes);
  const tolerances = options.nsdToleranceMm ?? [1, 2];
  return classes.map((classId, c) => {
    const values: Record<string, number> = { dice: officialDice(counts[c]!) };
    if (options.surface ?? true) {
      const d = surfaceDistances(pred, gt, { label: classId });
      values['hd95'] = hd95(d);
      values['assd'] = assd(d);
      values['hd'] = hausdorff(d);
      for (const t of tolerances) values[nsdKey(t)] = nsd(d, t);
    }
    return { caseId, classId, values };
  });
}

/** Mean ± std of one metric over the values that are not NaN. */
export interface MetricStats {
  readonly mean: number;
  /** Population standard deviation (ddof = 0, NumPy's default). */
  readonly std: number;
  /** Values that entered the statistics. */
  readonly n: number;
  /** NaN values left out (e.g. HD95 of a case where pred or gt lacks the class). */
  readonly nanCount: number;
}

/** Aggregates of a set of {@link MetricRow}s. */
export interface MetricsSummary {
  /** Metric names in first-seen order (the column order of the renderings). */
  readonly metrics: readonly string[];
  /** Case ids in first-seen order. */
  readonly caseIds: readonly string[];
  /** Per class (ascending id): statistics over cases of each metric. */
  readonly perClass: readonly {
    readonly classId: number;
    readonly stats: Readonly<Record<string, MetricStats>>;
  }[];
  /** Per case: the mean over classes of each metric (NaN ignored), the official per-case score. */
  readonly perCase: readonly { readonly caseId: string; readonly means: Readonly<Record<string, number>> }[];
  /** Per metric: the mean over classes of the per-class means (NaN class means ignored), as §10.3 reports. */
  readonly overall: Readonly<Record<string, number>>;
}

/**
 * Mean and population std of the non-NaN values; mean and std are NaN when no value remains.
 * Infinite values are kept (none of this module's metrics produces one).
 */
export function nanStats(values: readonly number[]): MetricStats {
  const kept = values.filter((v) => !Number.isNaN(v));
  const n = kept.length;
  const mean = n === 0 ? Number.NaN : kept.reduce((s, v) => s + v, 0) / n;
  const std = n === 0 ? Number.NaN : Math.sqrt(kept.reduce((s, v) => s + (v - mean) * (v - mean), 0) / n);
  return { mean, std, n, nanCount: values.length - n };
}

function firstSeen<T>(items: Iterable<T>): T[] {
  return [...new Set(items)];
}

/**
 * Aggregates rows: per class, mean ± std over cases; per case, the mean over classes; overall, the
 * mean over classes of the per-class means (masam-spec §10.3: per-class means, then their mean).
 * NaN values are left out of every mean and counted in `nanCount`.
 */
export function summarize(rows: readonly MetricRow[]): MetricsSummary {
  const metrics = firstSeen(rows.flatMap((r) => Object.keys(r.values)));
  const caseIds = firstSeen(rows.map((r) => r.caseId));
  const classIds = firstSeen(rows.map((r) => r.classId)).sort((a, b) => a - b);
  const metricOf = (r: MetricRow, m: string): number => r.values[m] ?? Number.NaN;
  const perClass = classIds.map((classId) => {
    const mine = rows.filter((r) => r.classId === classId);
    const stats: Record<string, MetricStats> = {};
    for (const m of metrics) stats[m] = nanStats(mine.map((r) => metricOf(r, m)));
    return { classId, stats };
  });
  const perCase = caseIds.map((caseId) => {
    const mine = rows.filter((r) => r.caseId === caseId);
    const means: Record<string, number> = {};
    for (const m of metrics) means[m] = nanStats(mine.map((r) => metricOf(r, m))).mean;
    return { caseId, means };
  });
  const overall: Record<string, number> = {};
  for (const m of metrics) overall[m] = nanStats(perClass.map((c) => c.stats[m]!.mean)).mean;
  return { metrics, caseIds, perClass, perCase, overall };
}

/** How numbers are written; by default with full precision (shortest round-trip form). */
export interface FormatOptions {
  /** Digits after the decimal point; omit for full precision. */
  readonly digits?: number;
  /** Display names per class id (Markdown only), e.g. `{ 1: 'spleen' }`. */
  readonly classNames?: Readonly<Record<number, string>>;
}

function num(v: number, digits?: number): string {
  if (Number.isNaN(v)) return 'NaN';
  return digits === undefined ? String(v) : v.toFixed(digits);
}

function csvField(s: string): string {
  return /[",\n\r]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

/**
 * One CSV line per row: `case,class,<metrics…>`, header first, `\n` line ends, NaN written as `NaN`
 * (pandas reads it back as NaN). Fields with commas, quotes or line breaks are quoted.
 */
export function rowsToCsv(rows: readonly MetricRow[], options: FormatOptions = {}): string {
  const metrics = firstSeen(rows.flatMap((r) => Object.keys(r.values)));
  const lines = [['case', 'class', ...metrics].map(csvField).join(',')];
  for (const r of rows) {
    const cells = metrics.map((m) => num(r.values[m] ?? Number.NaN, options.digits));
    lines.push([csvField(r.caseId), String(r.classId), ...cells].join(','));
  }
  return `${lines.join('\n')}\n`;
}

/**
 * A Markdown table: one line per class with `mean ± std` per metric (and `(n=…)` where NaN values were
 * left out), then a `mean` line with the overall means. Four digits unless `digits` says otherwise.
 */
export function summaryToMarkdown(summary: MetricsSummary, options: FormatOptions = {}): string {
  const digits = options.digits ?? 4;
  const head = `| class | ${summary.metrics.join(' | ')} |`;
  const rule = `|---|${summary.metrics.map(() => '---|').join('')}`;
  const lines = [head, rule];
  for (const c of summary.perClass) {
    const name = options.classNames?.[c.classId] ?? String(c.classId);
    const cells = summary.metrics.map((m) => {
      const s = c.stats[m]!;
      const text = `${num(s.mean, digits)} ± ${num(s.std, digits)}`;
      return s.nanCount > 0 ? `${text} (n=${s.n})` : text;
    });
    lines.push(`| ${name} | ${cells.join(' | ')} |`);
  }
  lines.push(`| mean | ${summary.metrics.map((m) => num(summary.overall[m]!, digits)).join(' | ')} |`);
  return `${lines.join('\n')}\n`;
}

/** JSON has no NaN: non-finite numbers become null. */
type Jsonable<T> = T extends number
  ? number | null
  : T extends readonly (infer U)[]
    ? Jsonable<U>[]
    : T extends object
      ? { [K in keyof T]: Jsonable<T[K]> }
      : T;

function jsonable(x: unknown): unknown {
  if (typeof x === 'number') return Number.isFinite(x) ? x : null;
  if (Array.isArray(x)) return x.map(jsonable);
  if (x !== null && typeof x === 'object') {
    return Object.fromEntries(Object.entries(x).map(([k, v]) => [k, jsonable(v)]));
  }
  return x;
}

/**
 * The summary as a plain JSON-able object (a deep copy with NaN and ±∞ replaced by null, which
 * `JSON.stringify` would otherwise turn into null silently), ready for `JSON.stringify`.
 */
export function summaryToJson(summary: MetricsSummary): Jsonable<MetricsSummary> {
  return jsonable(summary) as Jsonable<MetricsSummary>;
}
