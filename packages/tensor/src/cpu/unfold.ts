import type { Window } from '../backend.js';
import type { TypedArray } from '../dtype.js';
import type { ArrayOperand } from './elementwise.js';

/**
 * im2col and its adjoint col2im, the two kernels convolution and pooling are composed from.
 *
 * unfold: x [N, C, H, W] -> cols [N, C*kh*kw, outH*outW], where row c*kh*kw + i*kw + j of cols
 * holds input pixel (c, oh*sh - ph + i*dh, ow*sw - pw + j*dw) for each output position (oh, ow)
 * (torch.nn.functional.unfold's layout; positions in the padding read `padValue`).
 * fold: the adjoint: cols -> [N, C, H, W], adding every column entry back onto its pixel.
 */

export function outputSize(
  size: number,
  kernel: number,
  stride: number,
  padding: number,
  dilation: number,
): number {
  return Math.floor((size + 2 * padding - dilation * (kernel - 1) - 1) / stride) + 1;
}

export function unfold(x: ArrayOperand, window: Window, padValue: number, out: TypedArray): void {
  const [N, C, H, W] = x.shape;
  const [kh, kw] = window.kernel;
  const [sh, sw] = window.stride;
  const [ph, pw] = window.padding;
  const [dh, dw] = window.dilation;
  const outH = outputSize(H, kh, sh, ph, dh);
  const outW = outputSize(W, kw, sw, pw, dw);
  const [sn, sc, sy, sx] = x.strides;
  const data = x.data;
  let o = 0;
  for (let n = 0; n < N; n++) {
    for (let c = 0; c < C; c++) {
      const plane = x.offset + n * sn + c * sc;
      for (let i = 0; i < kh; i++) {
        for (let j = 0; j < kw; j++) {
          for (let oh = 0; oh < outH; oh++) {
            const y = oh * sh - ph + i * dh;
            const rowInside = y >= 0 && y < H;
            const row = plane + y * sy;
            for (let ow = 0; ow < outW; ow++, o++) {
              const xx = ow * sw - pw + j * dw;
              out[o] = rowInside && xx >= 0 && xx < W ? data[row + xx * sx] : padValue;
            }
          }
        }
      }
    }
  }
}

export function fold(cols: ArrayOperand, shape: readonly number[], window: Window, out: TypedArray): void {
  const [N, C, H, W] = shape;
  const [kh, kw] = window.kernel;
  const [sh, sw] = window.stride;
  const [ph, pw] = window.padding;
  const [dh, dw] = window.dilation;
  const outH = outputSize(H, kh, sh, ph, dh);
  const outW = outputSize(W, kw, sw, pw, dw);
  const [sn, sr, sl] = cols.strides;
  const data = cols.data;
  for (let n = 0; n < N; n++) {
    for (let c = 0; c < C; c++) {
      const plane = (n * C + c) * H * W;
      for (let i = 0; i < kh; i++) {
        for (let j = 0; j < kw; j++) {
          const rowBase = cols.offset + n * sn + ((c * kh + i) * kw + j) * sr;
          for (let oh = 0; oh < outH; oh++) {
            const y = oh * sh - ph + i * dh;
            if (y < 0 || y >= H) continue;
            for (let ow = 0; ow < outW; ow++) {
              const xx = ow * sw - pw + j * dw;
              if (xx >= 0 && xx < W) out[plane + y * W + xx] += data[rowBase + (oh * outW + ow) * sl];
            }
          }
        }
      }
    }
  }
}
