import { cat, type Tensor, zeros } from '@agrad/autograd';
import {
  BatchNorm2d,
  Conv2d,
  Flatten,
  init,
  LayerNorm,
  Linear,
  MaxPool2d,
  Module,
  ModuleList,
  ReLU,
  Sequential,
  TransformerEncoderLayer,
} from '@agrad/nn';

/** The three Fashion-MNIST classifiers of `pnpm lab classify`; each maps [N, 1, 28, 28] to [N, 10] logits. */
export const CLASSIFIERS = ['mlp', 'cnn', 'vit'] as const;
export type ClassifierName = (typeof CLASSIFIERS)[number];

export interface Classifier extends Module {
  forward(images: Tensor): Tensor;
}

/** 784-256-128-10 with ReLU. */
export function mlp(): Sequential {
  return new Sequential(
    new Flatten(),
    new Linear(784, 256),
    new ReLU(),
    new Linear(256, 128),
    new ReLU(),
    new Linear(128, 10),
  );
}

/**
 * Two conv-BatchNorm-ReLU-pool blocks, a 64-unit hidden layer and a linear head. The hidden
 * layer's activations are the features `generate` computes its FID on (see cnnFeatures).
 */
export function cnn(): Sequential {
  return new Sequential(
    new Conv2d(1, 8, 3, { padding: 1 }),
    new BatchNorm2d(8),
    new ReLU(),
    new MaxPool2d(2),
    new Conv2d(8, 16, 3, { padding: 1 }),
    new BatchNorm2d(16),
    new ReLU(),
    new MaxPool2d(2),
    new Flatten(),
    new Linear(16 * 7 * 7, CNN_FEATURES),
    new ReLU(),
    new Linear(CNN_FEATURES, 10),
  );
}

/** Width of the CNN's penultimate layer. */
export const CNN_FEATURES = 64;

/** The CNN's penultimate activations, [N, 64]: every layer but the classification head. */
export function cnnFeatures(model: Sequential, images: Tensor): Tensor {
  return model.layers.slice(0, -1).reduce((h, layer) => layer.forward(h), images);
}

/**
 * A small vision transformer: 7x7 patches (a 4x4 grid) embedded by a strided conv, a class token
 * and learned positions, pre-norm encoder layers, and a linear head on the class token.
 */
export class SmallViT extends Module implements Classifier {
  readonly width: number;

  constructor(options: { width?: number; depth?: number; heads?: number } = {}) {
    super();
    const { width = 64, depth = 2, heads = 4 } = options;
    this.width = width;
    this.registerModule('patch_embed', new Conv2d(1, width, 7, { stride: 7 }));
    this.registerParameter('cls_token', zeros([1, 1, width]));
    this.registerParameter('pos_embed', init.normal([1, 17, width], 0, 0.02));
    const layers = new ModuleList<TransformerEncoderLayer>();
    for (let i = 0; i < depth; i++) {
      layers.append(
        new TransformerEncoderLayer(width, heads, {
          dimFeedforward: 2 * width,
          dropout: 0,
          batchFirst: true,
          normFirst: true,
          activation: 'gelu',
        }),
      );
    }
    this.registerModule('layers', layers);
    this.registerModule('norm', new LayerNorm(width));
    this.registerModule('head', new Linear(width, 10));
  }

  forward(images: Tensor): Tensor {
    const n = images.shape[0];
    const patches = this.module<Conv2d>('patch_embed').forward(images).flatten(2).transpose(1, 2); // [N, 16, D]
    let x = cat([this.param('cls_token').expand([n, 1, this.width]), patches], 1).add(
      this.param('pos_embed'),
    );
    for (const layer of this.module<ModuleList<TransformerEncoderLayer>>('layers')) x = layer.forward(x);
    const cls = this.module<LayerNorm>('norm').forward(x.narrow(1, 0, 1).squeeze(1));
    return this.module<Linear>('head').forward(cls);
  }
}

export function makeClassifier(name: ClassifierName): Classifier {
  if (name === 'mlp') return mlp();
  if (name === 'cnn') return cnn();
  if (name === 'vit') return new SmallViT();
  throw new RangeError(`lab: unknown model '${name}' (expected mlp, cnn or vit)`);
}
