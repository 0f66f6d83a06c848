// What a benchmark returns: named metrics with units and a line on how each was computed.

export interface BenchMetric {
  readonly name: string;
  readonly value: number;
  readonly unit: string;
  /** How it was measured or counted (FLOP formula, repetitions …). */
  readonly note?: string;
}

export interface BenchResult {
  readonly metrics: readonly BenchMetric[];
  readonly notes?: readonly string[];
}

/** A result file as written, with the machine line (its date says when its metrics were measured). */
export interface PreviousResult extends BenchResult {
  readonly machine: { readonly date: string };
}

/** Median wall time in seconds of `reps` calls after `warmup` untimed ones. */
export async function medianSeconds(fn: () => Promise<unknown>, reps: number, warmup = 1): Promise<number> {
  for (let i = 0; i < warmup; i++) await fn();
  const times: number[] = [];
  for (let i = 0; i < reps; i++) {
    const t0 = performance.now();
    await fn();
    times.push((performance.now() - t0) / 1000);
  }
  times.sort((a, b) => a - b);
  return times[Math.floor(times.length / 2)]!;
}
