// The plain tensor type of the library API: a Float32Array/Int32Array with its shape.
import { MasamError } from '../core/errors.js';
import { numel } from '../core/shape.js';

export interface ApiTensor<T extends Float32Array | Int32Array = Float32Array> {
  readonly data: T;
  readonly shape: number[];
}

/** Checks that `data` fills `shape` and that `shape` has the expected rank; names the argument in errors. */
export function checkTensor(
  what: string,
  data: { length: number },
  shape: readonly number[],
  rank: number,
): void {
  if (shape.length !== rank)
    throw new MasamError(`${what}: shape [${shape.join(', ')}] must have rank ${rank}`);
  if (data.length !== numel(shape)) {
    throw new MasamError(
      `${what}: ${data.length} values do not fill shape [${shape.join(', ')}] (${numel(shape)})`,
    );
  }
}
