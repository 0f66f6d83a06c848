// Layers as plain classes: the constructor declares parameters under upstream names, `forward` builds the
// graph. Weight layouts are PyTorch's (Linear [out, in], Conv [out, in/groups, k…], ConvT [in, out, k…]).
import type { Value } from '../graph/index.js';
import * as F from '../ops/index.js';
import { fanIn, normal, ones, zeros } from './init.js';
import type { ParamScope } from './param.js';

/** y = x·Wᵀ + b over the last axis. */
export class Linear {
  readonly weight: Value;
  readonly bias: Value | null;
  constructor(inDim: number, outDim: number, p: ParamScope, options: { bias?: boolean } = {}) {
    this.weight = p.param('weight', [outDim, inDim], fanIn(inDim));
    this.bias = options.bias === false ? null : p.param('bias', [outDim], fanIn(inDim));
  }

  forward(x: Value): Value {
    const y = F.matmul(x, F.transpose(this.weight, [1, 0]));
    return this.bias ? F.add(y, this.bias) : y;
  }
}

/** LayerNorm over the last axis (biased variance). */
export class LayerNorm {
  readonly weight: Value;
  readonly bias: Value;
  constructor(
    dim: number,
    p: ParamScope,
    readonly eps: number,
  ) {
    this.weight = p.param('weight', [dim], ones);
    this.bias = p.param('bias', [dim], zeros);
  }

  forward(x: Value): Value {
    return F.layerNormalization(x, this.weight, this.bias, this.eps);
  }
}

/** SAM's LayerNorm2d: LayerNorm over C of [B, C, H, W] at every position (ε = 1e-6). */
export class LayerNorm2d {
  private readonly norm: LayerNorm;
  constructor(channels: number, p: ParamScope, eps = 1e-6) {
    this.norm = new LayerNorm(channels, p, eps);
  }

  forward(x: Value): Value {
    // [B, C, H, W] → [B, H, W, C] → LN → [B, C, H, W]
    return F.transpose(this.norm.forward(F.transpose(x, [0, 2, 3, 1])), [0, 3, 1, 2]);
  }
}

export interface ConvOptions {
  readonly stride?: number;
  readonly padding?: number;
  readonly bias?: boolean;
}

/** Conv2d / Conv3d (kernel given per spatial axis). */
export class Conv {
  readonly weight: Value;
  readonly bias: Value | null;
  constructor(
    inChannels: number,
    outChannels: number,
    readonly kernel: readonly number[],
    p: ParamScope,
    readonly options: ConvOptions = {},
  ) {
    const fan = inChannels * kernel.reduce((a, b) => a * b, 1);
    this.weight = p.param('weight', [outChannels, inChannels, ...kernel], fanIn(fan));
    this.bias = options.bias === false ? null : p.param('bias', [outChannels], fanIn(fan));
  }

  forward(x: Value): Value {
    const n = this.kernel.length;
    const stride = this.options.stride ?? 1;
    const pad = this.options.padding ?? 0;
    return F.conv(x, this.weight, this.bias, {
      strides: new Array<number>(n).fill(stride),
      pads: new Array<number>(2 * n).fill(pad),
    });
  }
}

/** ConvTranspose2d with weight [in, out, k, k]; PyTorch's init takes fan_in from axis 1 (out·k·k). */
export class ConvTranspose2d {
  readonly weight: Value;
  readonly bias: Value;
  constructor(
    inChannels: number,
    outChannels: number,
    readonly kernel: number,
    p: ParamScope,
    readonly stride: number,
  ) {
    const fan = outChannels * kernel * kernel;
    this.weight = p.param('weight', [inChannels, outChannels, kernel, kernel], fanIn(fan));
    this.bias = p.param('bias', [outChannels], fanIn(fan));
  }

  forward(x: Value): Value {
    return F.convTranspose(x, this.weight, this.bias, { strides: [this.stride, this.stride] });
  }
}

/** nn.Embedding's table [n, dim], N(0, 1) initialised. */
export class Embedding {
  readonly weight: Value;
  constructor(n: number, dim: number, p: ParamScope) {
    this.weight = p.param('weight', [n, dim], normal(1));
  }
}

/** SAM's MLP: `layers.{i}` Linear layers with ReLU between them (optionally a sigmoid at the end). */
export class Mlp {
  readonly layers: Linear[];
  constructor(
    inDim: number,
    hidden: number,
    outDim: number,
    depth: number,
    p: ParamScope,
    readonly sigmoidOutput = false,
  ) {
    const dims = [inDim, ...new Array<number>(depth - 1).fill(hidden), outDim];
    this.layers = Array.from(
      { length: depth },
      (_, i) => new Linear(dims[i]!, dims[i + 1]!, p.pp(`layers.${i}`)),
    );
  }

  forward(x: Value): Value {
    let h = x;
    this.layers.forEach((layer, i) => {
      h = layer.forward(h);
      if (i < this.layers.length - 1) h = F.relu(h);
    });
    return this.sigmoidOutput ? F.sigmoid(h) : h;
  }
}
