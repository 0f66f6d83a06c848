// numpy's legacy `np.random.RandomState(seed).shuffle`, bit for bit: MT19937 seeded as numpy seeds an
// integer, and numpy's Fisher–Yates with masked rejection sampling. nnU-Net draws its cross-validation
// folds this way (sklearn KFold(shuffle=True, random_state=12345)), so masam's folds equal nnU-Net's.

const N = 624;
const M = 397;

/** The Mersenne Twister MT19937 (Matsumoto & Nishimura 1998), 32-bit outputs. */
class Mt19937 {
  private readonly mt = new Uint32Array(N);
  private index = N;

  constructor(seed: number) {
    this.mt[0] = seed >>> 0;
    for (let i = 1; i < N; i++) {
      const prev = this.mt[i - 1]!;
      this.mt[i] = (Math.imul(1812433253, prev ^ (prev >>> 30)) + i) >>> 0;
    }
  }

  private twist(): void {
    const mt = this.mt;
    for (let k = 0; k < N; k++) {
      const y = (mt[k]! & 0x80000000) | (mt[(k + 1) % N]! & 0x7fffffff);
      mt[k] = mt[(k + M) % N]! ^ (y >>> 1) ^ (y & 1 ? 0x9908b0df : 0);
    }
    this.index = 0;
  }

  nextUint32(): number {
    if (this.index >= N) this.twist();
    let y = this.mt[this.index++]!;
    y ^= y >>> 11;
    y ^= (y << 7) & 0x9d2c5680;
    y ^= (y << 15) & 0xefc60000;
    y ^= y >>> 18;
    return y >>> 0;
  }
}

/** A uniform integer in 0..max, as numpy's random_interval draws it (max < 2³²). */
function randomInterval(rng: Mt19937, max: number): number {
  if (max === 0) return 0;
  let mask = max;
  for (const shift of [1, 2, 4, 8, 16]) mask |= mask >>> shift;
  mask >>>= 0;
  for (;;) {
    const value = (rng.nextUint32() & mask) >>> 0;
    if (value <= max) return value;
  }
}

/** A copy of `items` shuffled as `np.random.RandomState(seed).shuffle` shuffles an array. */
export function numpyShuffle<T>(items: readonly T[], seed: number): T[] {
  const rng = new Mt19937(seed);
  const out = [...items];
  for (let i = out.length - 1; i > 0; i--) {
    const j = randomInterval(rng, i);
    [out[i], out[j]] = [out[j]!, out[i]!];
  }
  return out;
}
