// Typed errors. Shape errors carry the op, the scope path and the input shapes, so a failure deep in a
// traced model points at the layer that caused it.

export class MasamError extends Error {
  override name = 'MasamError';
}

/** A shape or dtype rule of a primitive was violated while tracing. */
export class ShapeError extends MasamError {
  override name = 'ShapeError';
  constructor(
    readonly op: string,
    readonly scope: string,
    readonly inputShapes: readonly (readonly number[])[],
    readonly problem: string,
  ) {
    const shapes = inputShapes.map((s) => `[${s.join(', ')}]`).join(', ');
    super(`${op}${scope ? ` at '${scope}'` : ''}: ${problem} (input shapes ${shapes})`);
  }
}

/** Feeds or fetches of a compiled graph do not match what it declares. */
export class FeedError extends MasamError {
  override name = 'FeedError';
}

/** A file or byte buffer is not what it claims to be; the message names the file and the problem. */
export class FormatError extends MasamError {
  override name = 'FormatError';
  constructor(
    readonly source: string,
    problem: string,
  ) {
    super(`${source}: ${problem}`);
  }
}
