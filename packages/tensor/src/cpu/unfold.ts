import type { Window } from '../backend.js';
import type { TypedArray } from '../dtype.js';
import { type ArrayOperand, outputSize } from '../layout.js';

/**
 * im2col and its adjoint col2im, the two kernels convolution and pooling are composed from.
 *
 * unfold: x [N, C, H, W] -> cols [N, C*kh*kw, outH*outW], where row c*kh*kw + i*kw + j of cols
 * holds input pixel (c, oh*sh - ph + i*dh, ow*sw - pw + j*dw) for each output position (oh, ow)
 * (torch.nn.functional.unfold's layout; positions in the padding read `padValue`).
 * fold: the adjoint: cols -> [N, C, H, W], adding every column entry back onto its pixel.
 */

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
          // Output columns ow whose input column ow*sw - pw + j*dw lies inside [0, W).
          const shift = j * dw - pw;
          const first = Math.min(outW, Math.max(0, Math.ceil(-shift / sw)));
          const last = Math.max(first, Math.min(outW, Math.ceil((W - shift) / sw)));
          for (let oh = 0; oh < outH; oh++, o += outW) {
            const y = oh * sh - ph + i * dh;
            if (y < 0 || y >= H) {
              out.fill(padValue, o, o + outW);
              continue;
            }
            if (first > 0) out.fill(padValue, o, o + first);
            if (last < outW) out.fill(padValue, o + last, o + outW);
            const row = plane + y * sy + shift * sx;
            // A plain loop: rows are short (tens of pixels), where out.set(data.subarray(...))
            // spends more on allocating the view than on copying.
            const step = sw * sx;
            for (let ow = first; ow < last; ow++) out[o + ow] = data[row + ow * step];
          }
        }
      }
    }
  }
}

/** col2im on the CPU: the columns summed back into the image. */
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
          const shift = j * dw - pw;
          const first = Math.min(outW, Math.max(0, Math.ceil(-shift / sw)));
          const last = Math.max(first, Math.min(outW, Math.ceil((W - shift) / sw)));
          for (let oh = 0; oh < outH; oh++) {
            const y = oh * sh - ph + i * dh;
            if (y < 0 || y >= H) continue;
            const target = plane + y * W + shift;
            let source = rowBase + (oh * outW + first) * sl;
            for (let ow = first; ow < last; ow++, source += sl) out[target + ow * sw] += data[source];
          }
        }
      }
    }
  }
}

/**
 * Max pooling's argmax (see the reference loop): one pass over each window, with the plane's
 * offset and the row's offset hoisted out of the inner loop.
 */
export function maxPoolIndices(
  x: ArrayOperand,
  window: Window,
  shape: readonly number[],
  out: Int32Array,
): void {
  const [N, C, H, W] = x.shape;
  const [, , outH, outW] = shape;
  const [kh, kw] = window.kernel;
  const [sh, sw] = window.stride;
  const [ph, pw] = window.padding;
  const [dh, dw] = window.dilation;
  const [sn, sc, rowStride, colStride] = x.strides;
  const data = x.data;
  let o = 0;
  for (let n = 0; n < N; n++) {
    for (let c = 0; c < C; c++) {
      const plane = x.offset + n * sn + c * sc;
      for (let oh = 0; oh < outH; oh++) {
        const h0 = oh * sh - ph;
        for (let ow = 0; ow < outW; ow++) {
          const w0 = ow * sw - pw;
          let best = Number.NEGATIVE_INFINITY;
          let index = -1;
          for (let ki = 0; ki < kh; ki++) {
            const h = h0 + ki * dh;
            if (h < 0 || h >= H) continue;
            const row = plane + h * rowStride;
            for (let kj = 0; kj < kw; kj++) {
              const w = w0 + kj * dw;
              if (w < 0 || w >= W) continue;
              const v = data[row + w * colStride];
              // v !== v: NaN, which wins over everything, the last one seen as in PyTorch.
              if (v > best || index < 0 || v !== v) {
                best = v;
                index = h * W + w;
              }
            }
          }
          out[o++] = index;
        }
      }
    }
  }
}
