// The official learning-rate schedule (masam-spec §9.4): linear warmup, then polynomial decay (power 7).
// The lr is set after each step from that step's counter, so steps 0 and 1 share base/W, and steps W and
// W+1 both use base.

export interface ScheduleOptions {
  /** Base learning rate (official: 0.0008 for a total batch of 24). */
  readonly baseLr: number;
  /** Warmup steps W (official: 250). */
  readonly warmup: number;
  /** Decay horizon M = max_epochs · iterations per epoch (official: 400 · ⌈N_train / 24⌉). */
  readonly maxIterations: number;
  /** Decay power (official: 7). */
  readonly power?: number;
}

/** The lr used by optimiser step k = 0, 1, 2, … */
export function learningRate(k: number, o: ScheduleOptions): number {
  const power = o.power ?? 7;
  if (o.warmup > 0 && k === 0) return o.baseLr / o.warmup;
  if (o.warmup > 0 && k <= o.warmup) return (o.baseLr * k) / o.warmup;
  const progress = (k - o.warmup - 1) / o.maxIterations;
  return o.baseLr * Math.max(0, 1 - Math.max(0, progress)) ** power;
}
