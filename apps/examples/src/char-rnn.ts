/**
 * A character-level language model on the King James Bible (the lab's committed corpus): an
 * embedding, a recurrent layer (LSTM, or GRU with --cell gru) and a linear read-out, trained with
 * AGR in front of AdamW on windows of text from a DataLoader, then sampled.
 *
 *   pnpm --filter @agrad/examples char-rnn [--cell lstm|gru] [--steps 300] [--seed 0]
 */
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { gunzipSync } from 'node:zlib';
import { defaultGenerator, manualSeed, noGrad, type Tensor, tensor } from '@agrad/autograd';
import { DataLoader, Embedding, F, GRU, Linear, LSTM, Module, TensorDataset } from '@agrad/nn';
import { adamw, agr, chain, clipByGlobalNorm, Optimizer } from '@agrad/optim';

const { values: args } = parseArgs({
  options: {
    cell: { type: 'string', default: 'lstm' },
    steps: { type: 'string', default: '300' },
    seed: { type: 'string', default: '0' },
  },
});
if (args.cell !== 'lstm' && args.cell !== 'gru')
  throw new Error(`char-rnn: --cell must be lstm or gru, got '${args.cell}'`);
const steps = Number(args.steps);
if (!Number.isSafeInteger(steps) || steps < 1)
  throw new Error(`char-rnn: --steps must be a positive integer, got '${args.steps}'`);
manualSeed(Number(args.seed));

// The text: the verses of Genesis, without their references ("Ge1:1 In the beginning ...").
const corpus = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'lab', 'data', 'kjv', 'kjv.txt.gz');
const text = gunzipSync(readFileSync(corpus))
  .toString('utf8')
  .split('\n')
  .filter((line) => line.startsWith('Ge'))
  .map((line) => line.slice(line.indexOf(' ') + 1))
  .join('\n');
const vocabulary = [...new Set(text)].sort();
const code = new Map(vocabulary.map((ch, i) => [ch, i]));
const ids = Int32Array.from(text, (ch) => code.get(ch) as number);

// Windows of 65 characters every 32: the first 64 are the input, the last 64 the targets.
const length = 64;
const starts = Array.from({ length: Math.floor((ids.length - length - 1) / 32) }, (_, i) => i * 32);
const window = (offset: number) =>
  starts.flatMap((s) => Array.from(ids.subarray(s + offset, s + offset + length)));
const dataset = new TensorDataset(
  tensor(Int32Array.from(window(0)), { shape: [starts.length, length] }),
  tensor(Int32Array.from(window(1)), { shape: [starts.length, length] }),
);
const loader = new DataLoader(dataset, { batchSize: 32, shuffle: true, dropLast: true });

class CharModel extends Module {
  readonly embed: Embedding;
  readonly rnn: LSTM | GRU;
  readonly head: Linear;

  constructor(vocab: number, width: number, cell: 'lstm' | 'gru') {
    super();
    this.embed = new Embedding(vocab, 32);
    this.rnn =
      cell === 'lstm' ? new LSTM(32, width, { batchFirst: true }) : new GRU(32, width, { batchFirst: true });
    this.head = new Linear(width, vocab);
  }

  /** Logits [N, L, vocab] for ids [N, L], and the recurrent state to continue from. */
  forward(x: Tensor, state: Tensor | [Tensor, Tensor] | null = null): [Tensor, Tensor | [Tensor, Tensor]] {
    const embedded = this.embed.forward(x);
    const [out, next] =
      this.rnn instanceof LSTM
        ? this.rnn.forward(embedded, state as [Tensor, Tensor] | null)
        : this.rnn.forward(embedded, state as Tensor | null);
    return [this.head.forward(out), next];
  }
}

const model = new CharModel(vocabulary.length, 128, args.cell);
const optimizer = new Optimizer(
  model,
  chain(clipByGlobalNorm(1), agr(), adamw({ lr: 3e-3, weightDecay: 0.01 })),
);
console.log(
  `char-rnn: ${args.cell.toUpperCase()} 128, ${text.length} characters of Genesis, ${vocabulary.length} symbols, ` +
    `${dataset.length} windows of ${length}; chain(clipByGlobalNorm(1), agr(), adamw({ lr: 3e-3 })), ${steps} steps of 32`,
);

let step = 0;
training: for (;;) {
  for (const [x, y] of loader) {
    const [logits] = model.forward(x);
    const loss = F.crossEntropy(logits.reshape([-1, vocabulary.length]), y.reshape([-1]));
    optimizer.zeroGrad();
    loss.backward();
    optimizer.step();
    step++;
    if (step === 1 || step % 25 === 0 || step === steps)
      console.log(
        `step ${String(step).padStart(4)}  loss ${loss.item().toFixed(4)}  (uniform: ${Math.log(vocabulary.length).toFixed(4)})`,
      );
    if (step === steps) break training;
  }
}

/** Characters drawn one at a time from the model's softmax at `temperature`, after `prompt`. */
function sample(prompt: string, count: number, temperature: number): string {
  return noGrad(() => {
    let [logits, state] = model.forward(
      tensor(
        Int32Array.from(prompt, (ch) => code.get(ch) as number),
        { shape: [1, prompt.length] },
      ),
    );
    let out = '';
    for (let i = 0; i < count; i++) {
      const last = logits.narrow(1, logits.shape[1] - 1, 1).reshape([-1]);
      const probs = last.div(temperature).softmax(0).data;
      let u = defaultGenerator.uniform();
      let next = probs.length - 1;
      for (let k = 0; k < probs.length; k++) {
        u -= probs[k];
        if (u < 0) {
          next = k;
          break;
        }
      }
      out += vocabulary[next];
      [logits, state] = model.forward(tensor(Int32Array.of(next), { shape: [1, 1] }), state);
    }
    return out;
  });
}

model.eval();
for (const prompt of ['And God said', 'In the beginning'])
  console.log(`sample: ${JSON.stringify(prompt + sample(prompt, 160, 0.8))}`);
