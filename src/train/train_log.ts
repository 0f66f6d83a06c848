// The lines a training run prints and keeps in train.log (issue 11 "Logs"): a progress line every few
// steps (step, loss, lr, steps/s, ETA), one line per validation (mean Dice, best so far, per-class Dice
// on request), and what happens on resume. The step counts are those of metrics.jsonl (steps done).

/** Seconds as h:mm:ss (hours keep counting past 24); '?' while unknown. */
export function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds) || seconds < 0) return '?';
  const s = Math.round(seconds);
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  return `${h}:${String(m).padStart(2, '0')}:${String(s % 60).padStart(2, '0')}`;
}

/** Steps per second over a sliding window of recent steps, and the time left at that rate. */
export class StepRate {
  private readonly times: { step: number; at: number }[] = [];

  constructor(private readonly window = 20) {}

  /** Records that `step` steps are done at time `at` (seconds). */
  mark(step: number, at: number): void {
    this.times.push({ step, at });
    if (this.times.length > this.window + 1) this.times.shift();
  }

  /** Steps per second; NaN until two marks exist. */
  get perSecond(): number {
    const first = this.times[0];
    const last = this.times[this.times.length - 1];
    if (!first || !last || last.at <= first.at) return Number.NaN;
    return (last.step - first.step) / (last.at - first.at);
  }

  /** Seconds until `total` steps at the current rate. */
  eta(step: number, total: number): number {
    return (total - step) / this.perSecond;
  }
}

export interface ProgressFields {
  readonly step: number;
  readonly steps: number;
  readonly loss: number;
  readonly lr: number;
  readonly stepsPerSecond: number;
  readonly etaSeconds: number;
}

/** `step 40/150  loss 0.4312  lr 2.91e-3  1.52 steps/s  ETA 0:01:12` */
export function progressLine(p: ProgressFields): string {
  const rate = Number.isFinite(p.stepsPerSecond) ? p.stepsPerSecond.toPrecision(3) : '?';
  return (
    `step ${p.step}/${p.steps}  loss ${p.loss.toFixed(4)}  lr ${p.lr.toExponential(2)}  ` +
    `${rate} steps/s  ETA ${formatDuration(p.etaSeconds)}`
  );
}

export interface ValidationFields {
  readonly step: number;
  readonly steps: number;
  readonly mean: number;
  readonly best: { readonly score: number; readonly step: number };
  /** Dice of classes 1..K, with their names (background first) when they are to be shown. */
  readonly perClass?: { readonly dice: readonly number[]; readonly names: readonly string[] };
}

/** `step 50/150  validation Dice 0.8123  best 0.8123 (step 50)  | liver 0.8812  spleen 0.7434` */
export function validationLine(v: ValidationFields): string {
  const classes = v.perClass
    ? `  | ${v.perClass.dice.map((d, i) => `${v.perClass!.names[i + 1] ?? `class ${i + 1}`} ${d.toFixed(4)}`).join('  ')}`
    : '';
  return (
    `step ${v.step}/${v.steps}  validation Dice ${v.mean.toFixed(4)}  ` +
    `best ${v.best.score.toFixed(4)} (step ${v.best.step})${classes}`
  );
}
