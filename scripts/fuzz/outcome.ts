// How one fuzz input ended, and which endings are findings. A typed error (MasamError and its subclasses:
// FormatError, DatasetError, …) or a parsed value is the contract; an untyped exception, a hang, a crash,
// running out of memory or peak memory beyond the allowance is a finding.

export type OutcomeKind = 'valid' | 'typed' | 'untyped' | 'allocation' | 'hang' | 'crash' | 'memory';

export interface Outcome {
  readonly kind: OutcomeKind;
  /** Error class and message, or what the sandbox saw (timeout, exit code, RSS). */
  readonly detail: string;
  readonly stack?: string;
  readonly inputBytes?: number;
  /** Peak resident memory growth while parsing (VmHWM after − VmRSS before), bytes; -1 when unmeasured. */
  readonly peakGrowth?: number;
  /** Bytes of typed arrays in the parsed value. */
  readonly resultBytes?: number;
  readonly ms?: number;
}

export const FINDING_KINDS: ReadonlySet<OutcomeKind> = new Set([
  'untyped',
  'allocation',
  'hang',
  'crash',
  'memory',
]);

/**
 * Peak growth allowed while parsing: 64 MiB of working room plus 8× the largest of the input, the output
 * and the size the caller declared acceptable (a decompression cap).
 */
export function allocationAllowance(inputBytes: number, resultBytes: number, declaredBytes = 0): number {
  return 64 * 1024 ** 2 + 8 * Math.max(inputBytes, resultBytes, declaredBytes);
}
