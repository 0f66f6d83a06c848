// Hierarchical name scopes ('image_encoder/blocks.3/attn'), as tfjs op scopes: they name nodes for the
// profiler and appear in shape errors.

export class ScopeStack {
  private readonly parts: string[] = [];

  get path(): string {
    return this.parts.join('/');
  }

  run<T>(name: string, fn: () => T): T {
    this.parts.push(name);
    try {
      return fn();
    } finally {
      this.parts.pop();
    }
  }
}
