import { noGrad, type Tensor, tensor } from '@agrad/autograd';
import { Embedding, init, LayerNorm, Linear, Module, TransformerEncoderLayer } from '@agrad/nn';

export interface AlbertOptions {
  vocabSize: number;
  maxLength: number;
  /** Factorised embedding: tokens live in `embedding` dims and are projected up to `hidden`. */
  embedding: number;
  hidden: number;
  feedForward: number;
  heads: number;
  /** How many times the one shared encoder layer is applied. */
  layers: number;
}

/**
 * A tiny ALBERT (Lan et al., 2020): factorised embeddings (V x E, then E -> H), one Transformer
 * layer whose weights are shared across all `layers` applications, a masked-language-model head
 * tied to the input embedding, and a sentence-order-prediction head on [CLS].
 */
export class TinyAlbert extends Module {
  constructor(readonly options: AlbertOptions) {
    super();
    const { vocabSize, maxLength, embedding, hidden, feedForward, heads } = options;
    this.registerModule('word_embeddings', new Embedding(vocabSize, embedding));
    this.registerModule('position_embeddings', new Embedding(maxLength, embedding));
    this.registerModule('token_type_embeddings', new Embedding(2, embedding));
    this.registerModule('embeddings_norm', new LayerNorm(embedding));
    this.registerModule('embedding_hidden_mapping_in', new Linear(embedding, hidden));
    this.registerModule(
      'shared_layer',
      new TransformerEncoderLayer(hidden, heads, {
        dimFeedforward: feedForward,
        dropout: 0,
        batchFirst: true,
        activation: 'gelu',
      }),
    );
    this.registerModule('pooler', new Linear(hidden, hidden));
    this.registerModule('sop_classifier', new Linear(hidden, 2));
    this.registerModule('mlm_dense', new Linear(hidden, embedding));
    this.registerModule('mlm_norm', new LayerNorm(embedding));
    this.registerParameter('mlm_decoder_bias', tensor(new Float32Array(vocabSize)));
    // ALBERT initialises embeddings with std 0.02; unit-variance rows would make the tied MLM
    // decoder's first logits huge.
    noGrad(() => {
      for (const name of ['word_embeddings', 'position_embeddings', 'token_type_embeddings']) {
        const weight = this.module<Embedding>(name).param('weight');
        weight.copy_(init.normal(weight.shape, 0, 0.02));
      }
    });
  }

  /**
   * Encodes [N, T] token ids with [N, T] segment ids (0 for A, 1 for B) and a padding mask
   * (true at padding); returns hidden states [N, T, H].
   */
  encode(tokens: Tensor, segments: Tensor, padding: Tensor): Tensor {
    const [n, t] = tokens.shape;
    const positions = tensor(
      Int32Array.from({ length: n * t }, (_, i) => i % t),
      { shape: [n, t] },
    );
    const embed = (name: string, ids: Tensor) => this.module<Embedding>(name).forward(ids);
    let x = embed('word_embeddings', tokens)
      .add(embed('position_embeddings', positions))
      .add(embed('token_type_embeddings', segments));
    x = this.module<LinearLike>('embedding_hidden_mapping_in').forward(
      this.module<LinearLike>('embeddings_norm').forward(x),
    );
    const layer = this.module<TransformerEncoderLayer>('shared_layer');
    for (let i = 0; i < this.options.layers; i++) x = layer.forward(x, { srcKeyPaddingMask: padding });
    return x;
  }

  forward(tokens: Tensor, segments: Tensor, padding: Tensor): Tensor {
    return this.encode(tokens, segments, padding);
  }

  /** Sentence-order logits [N, 2] from the [CLS] state through the tanh pooler. */
  sopLogits(hidden: Tensor): Tensor {
    const cls = hidden.narrow(1, 0, 1).squeeze(1);
    return this.module<Linear>('sop_classifier').forward(this.module<Linear>('pooler').forward(cls).tanh());
  }

  /** Vocabulary logits [M, V] at the M flat positions (row-major over [N, T]) given. */
  mlmLogits(hidden: Tensor, positions: Tensor): Tensor {
    const [n, t, h] = hidden.shape;
    const picked = hidden.reshape([n * t, h]).indexSelect(0, positions);
    const e = this.module<LayerNorm>('mlm_norm').forward(
      this.module<Linear>('mlm_dense').forward(picked).gelu(),
    );
    const words = this.module<Embedding>('word_embeddings').param('weight');
    return e.matmul(words.transpose(0, 1)).add(this.param('mlm_decoder_bias'));
  }
}

type LinearLike = Module & { forward(x: Tensor): Tensor };
