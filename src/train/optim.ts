// AdamW with torch.optim.AdamW semantics (masam-spec §9.3): decoupled weight decay, bias correction, a
// step counter per parameter, and parameters without a gradient left untouched (no decay either).
// Runs on the host over Float32Arrays: measured in `npm run bench -- engine` against an in-graph update
// (see docs/ENGINE.md, "Optimizer"), it costs well under 1 % of a ViT-B training step.

export interface AdamWOptions {
  readonly betas?: readonly [number, number];
  readonly eps?: number;
  readonly weightDecay?: number;
}

/** Per-parameter optimizer state (what a checkpoint must keep for an exact resume). */
export interface AdamWParamState {
  step: number;
  readonly expAvg: Float32Array;
  readonly expAvgSq: Float32Array;
}

export class AdamW {
  readonly beta1: number;
  readonly beta2: number;
  readonly eps: number;
  readonly weightDecay: number;
  readonly state = new Map<string, AdamWParamState>();

  constructor(
    readonly params: ReadonlyMap<string, Float32Array>,
    options: AdamWOptions = {},
  ) {
    [this.beta1, this.beta2] = options.betas ?? [0.9, 0.999];
    this.eps = options.eps ?? 1e-8;
    this.weightDecay = options.weightDecay ?? 0.01;
  }

  /** One update at learning rate `lr`. `grads` maps names to gradients; absent or null = no gradient. */
  step(grads: ReadonlyMap<string, Float32Array | null>, lr: number): void {
    for (const [name, param] of this.params) {
      const g = grads.get(name);
      if (!g) continue;
      if (g.length !== param.length) {
        throw new Error(`AdamW: gradient of '${name}' has ${g.length} elements, parameter ${param.length}`);
      }
      let s = this.state.get(name);
      if (!s) {
        s = { step: 0, expAvg: new Float32Array(param.length), expAvgSq: new Float32Array(param.length) };
        this.state.set(name, s);
      }
      s.step += 1;
      const decay = 1 - lr * this.weightDecay;
      const stepSize = lr / (1 - this.beta1 ** s.step);
      const bias2Sqrt = Math.sqrt(1 - this.beta2 ** s.step);
      const { expAvg: m, expAvgSq: v } = s;
      const [b1, b2, eps] = [this.beta1, this.beta2, this.eps];
      for (let i = 0; i < param.length; i++) {
        const gi = g[i]!;
        m[i] = b1 * m[i]! + (1 - b1) * gi;
        v[i] = b2 * v[i]! + (1 - b2) * gi * gi;
        param[i] = param[i]! * decay - (stepSize * m[i]!) / (Math.sqrt(v[i]!) / bias2Sqrt + eps);
      }
    }
  }
}
