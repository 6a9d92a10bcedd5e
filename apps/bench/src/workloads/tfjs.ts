import { createRequire } from 'node:module';
import { dirname } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
// Gradients are registered separately from the ops (the tfjs union package does this import);
// this module is bundled by ../tfjs-loader.ts so the ES-module build below resolves.
import '@tensorflow/tfjs-core/dist/register_all_gradients';
import '@tensorflow/tfjs-backend-cpu';
import { setWasmPaths } from '@tensorflow/tfjs-backend-wasm';
import { CNN, fixedLabels, fixedValues, MLP, TRANSFORMER } from './shapes.js';

/**
 * The same workloads in TensorFlow.js (core ops only, as a user without tfjs-layers would write
 * them), on its 'cpu' (pure JavaScript) and 'wasm' (XNNPACK) backends.
 */
export type TfjsBackend = 'cpu' | 'wasm';

const require = createRequire(import.meta.url);
setWasmPaths(`${dirname(require.resolve('@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm.wasm'))}/`);

export async function useBackend(backend: TfjsBackend): Promise<void> {
  if (!(await tf.setBackend(backend))) throw new Error(`TensorFlow.js backend '${backend}' is not available`);
  await tf.ready();
}

export function matmul(n: number): () => void {
  const a = tf.randomNormal([n, n]);
  const b = tf.randomNormal([n, n]);
  return () => {
    const c = tf.matMul(a, b);
    c.dataSync();
    c.dispose();
  };
}

function glorot(shape: number[], fanIn: number): tf.Variable {
  return tf.variable(tf.randomUniform(shape, -1 / Math.sqrt(fanIn), 1 / Math.sqrt(fanIn)));
}

/** A training step: Adam on `loss`, reading the loss back so the work is done when it returns. */
function trainer(variables: tf.Variable[], loss: () => tf.Scalar): () => void {
  const optimizer = tf.train.adam(1e-3);
  return () => {
    const value = optimizer.minimize(loss, true, variables);
    value?.dataSync();
    value?.dispose();
  };
}

export function mlpStep(): () => void {
  const [i, h1, h2, o] = MLP.sizes;
  const x = tf.tensor2d(fixedValues(MLP.batch * i, 1), [MLP.batch, i]);
  const y = tf.oneHot(tf.tensor1d(fixedLabels(MLP.batch, 10, 2), 'int32'), 10);
  const w = [
    glorot([i, h1], i),
    glorot([h1], i),
    glorot([h1, h2], h1),
    glorot([h2], h1),
    glorot([h2, o], h2),
    glorot([o], h2),
  ];
  return trainer(w, () => {
    const h = tf.relu(tf.add(tf.matMul(tf.relu(tf.add(tf.matMul(x, w[0]), w[1])), w[2]), w[3]));
    return tf.losses.softmaxCrossEntropy(y, tf.add(tf.matMul(h, w[4]), w[5])) as tf.Scalar;
  });
}

export function cnnStep(): () => void {
  const x = tf.tensor4d(fixedValues(CNN.batch * CNN.image * CNN.image, 3), [
    CNN.batch,
    CNN.image,
    CNN.image,
    1,
  ]);
  const y = tf.oneHot(tf.tensor1d(fixedLabels(CNN.batch, 10, 4), 'int32'), 10);
  const w = [
    glorot([3, 3, 1, 32], 9),
    glorot([32], 9),
    glorot([3, 3, 32, 64], 288),
    glorot([64], 288),
    glorot([1600, 128], 1600),
    glorot([128], 1600),
    glorot([128, 10], 128),
    glorot([10], 128),
  ];
  return trainer(w, () => {
    let h = tf.maxPool(
      tf.relu(tf.add(tf.conv2d(x, w[0] as tf.Tensor4D, 1, 'valid'), w[1])) as tf.Tensor4D,
      2,
      2,
      'valid',
    );
    h = tf.maxPool(
      tf.relu(tf.add(tf.conv2d(h, w[2] as tf.Tensor4D, 1, 'valid'), w[3])) as tf.Tensor4D,
      2,
      2,
      'valid',
    );
    const flat = tf.reshape(h, [CNN.batch, 1600]);
    const logits = tf.add(tf.matMul(tf.relu(tf.add(tf.matMul(flat, w[4]), w[5])), w[6]), w[7]);
    return tf.losses.softmaxCrossEntropy(y, logits) as tf.Scalar;
  });
}

function layerNorm(x: tf.Tensor, gain: tf.Tensor, bias: tf.Tensor): tf.Tensor {
  const { mean, variance } = tf.moments(x, -1, true);
  return tf.add(tf.mul(tf.div(tf.sub(x, mean), tf.sqrt(tf.add(variance, 1e-5))), gain), bias);
}

/** A pre-norm transformer encoder block, the same computation as agrad's TransformerEncoderLayer. */
export function transformerStep(): () => void {
  const { batch: B, sequence: S, width: D, heads: H, feedforward: F } = TRANSFORMER;
  const dh = D / H;
  const x = tf.tensor3d(fixedValues(B * S * D, 5), [B, S, D]);
  const w = {
    qkv: glorot([D, 3 * D], D),
    qkvBias: tf.variable(tf.zeros([3 * D])),
    out: glorot([D, D], D),
    outBias: tf.variable(tf.zeros([D])),
    ff1: glorot([D, F], D),
    ff1Bias: glorot([F], D),
    ff2: glorot([F, D], F),
    ff2Bias: glorot([D], F),
    norm1: tf.variable(tf.ones([D])),
    norm1Bias: tf.variable(tf.zeros([D])),
    norm2: tf.variable(tf.ones([D])),
    norm2Bias: tf.variable(tf.zeros([D])),
  };
  const heads = (t: tf.Tensor) => tf.transpose(tf.reshape(t, [B, S, H, dh]), [0, 2, 1, 3]);
  return trainer(Object.values(w), () => {
    const n1 = tf.reshape(layerNorm(x, w.norm1, w.norm1Bias), [B * S, D]);
    const qkv = tf.add(tf.matMul(n1, w.qkv), w.qkvBias);
    const [q, k, v] = tf.split(qkv, 3, 1).map(heads);
    const attention = tf.softmax(tf.div(tf.matMul(q, k, false, true), Math.sqrt(dh)));
    const merged = tf.reshape(tf.transpose(tf.matMul(attention, v), [0, 2, 1, 3]), [B * S, D]);
    const x1 = tf.add(x, tf.reshape(tf.add(tf.matMul(merged, w.out), w.outBias), [B, S, D]));
    const n2 = tf.reshape(layerNorm(x1, w.norm2, w.norm2Bias), [B * S, D]);
    const ff = tf.add(tf.matMul(tf.relu(tf.add(tf.matMul(n2, w.ff1), w.ff1Bias)), w.ff2), w.ff2Bias);
    const out = tf.add(x1, tf.reshape(ff, [B, S, D]));
    return tf.mean(tf.square(out)) as tf.Scalar;
  });
}
