import { Generator, manualSeed, noGrad, tensor } from '@agrad/autograd';
import { F } from '@agrad/nn';
import { Optimizer } from '@agrad/optim';
import { type Arm, armName, makeTransform, type OptimizerName } from '../arms.js';
import { BatchOrder } from '../data/batches.js';
import { makeBatch, type PretrainingBatch, type VersePair } from '../data/text.js';
import { probeGradients, recordLoss } from '../run/log.js';
import { type JobResult, type RunnerContext, runJob } from '../run/runner.js';
import { type AlbertOptions, TinyAlbert } from './albert.js';

export interface LanguageConfig {
  optimizers: OptimizerName[];
  /** The paper's table sweeps AdamW's weight decay over 0, 2e-4, 5e-4, 1e-3, 1e-2. */
  weightDecays: number[];
  seeds: number;
  epochs: number;
  /** Use only the first N training pairs (null: all). */
  trainLimit: number | null;
  /** Held-out pairs scored for SOP and MLM accuracy. */
  evalPairs: number;
  batchSize: number;
  lr: number;
  vocabularySize: number;
  model: Omit<AlbertOptions, 'vocabSize'>;
  evalPoints: number;
  probePoints: number;
}

/** The paper's repository's tiny ALBERT (E 24, H 64, FF 256, 6 layers, 1 head), made cheaper for 2 cores. */
const TINY: LanguageConfig['model'] = {
  maxLength: 40,
  embedding: 32,
  hidden: 64,
  feedForward: 128,
  heads: 1,
  layers: 2,
};

export const LANGUAGE_PRESETS: Record<'quick' | 'full' | 'smoke', LanguageConfig> = {
  quick: {
    optimizers: ['adamw'],
    weightDecays: [0, 1e-2],
    seeds: 2,
    epochs: 1,
    trainLimit: 1600,
    evalPairs: 500,
    batchSize: 32,
    lr: 2e-3,
    vocabularySize: 4000,
    model: TINY,
    evalPoints: 4,
    probePoints: 10,
  },
  // All 26,974 training pairs once (843 steps). The paper's weight decays (up to 1e-2) would shrink
  // the weights by at most 0.8% over so short a run (AdamW's factor prod(1 - lr_t wd), printed in
  // the report); 0.1 and 1 shrink them by 8% and 57%, so the sweep can show an interaction.
  full: {
    optimizers: ['adamw'],
    weightDecays: [0, 0.1, 1],
    seeds: 2,
    epochs: 1,
    trainLimit: null,
    evalPairs: 1000,
    batchSize: 32,
    lr: 2e-3,
    vocabularySize: 4000,
    model: TINY,
    evalPoints: 4,
    probePoints: 20,
  },
  smoke: {
    optimizers: ['adamw'],
    weightDecays: [0, 1e-2],
    seeds: 2,
    epochs: 1,
    trainLimit: 64,
    evalPairs: 64,
    batchSize: 16,
    lr: 2e-3,
    vocabularySize: 500,
    model: { maxLength: 32, embedding: 8, hidden: 16, feedForward: 32, heads: 2, layers: 2 },
    evalPoints: 2,
    probePoints: 2,
  },
};

/** MLM + SOP loss of one batch, and the two accuracies' counts. */
function forward(model: TinyAlbert, batch: PretrainingBatch) {
  const n = batch.sopLabels.length;
  const shape = [n, batch.length];
  const hidden = model.encode(
    tensor(batch.tokens, { shape }),
    tensor(batch.segments, { shape }),
    tensor(batch.padding, { shape, dtype: 'bool' }),
  );
  const mlmLogits = model.mlmLogits(hidden, tensor(batch.maskedPositions));
  const sopLogits = model.sopLogits(hidden);
  const mlmTargets = tensor(batch.maskedTargets);
  const sopTargets = tensor(batch.sopLabels);
  const mlmLoss = F.crossEntropy(mlmLogits, mlmTargets);
  const sopLoss = F.crossEntropy(sopLogits, sopTargets);
  return { mlmLogits, sopLogits, mlmTargets, sopTargets, mlmLoss, sopLoss, loss: mlmLoss.add(sopLoss) };
}

/** SOP and MLM accuracy (%) and losses on fixed held-out batches. */
export function evaluateAlbert(model: TinyAlbert, batches: PretrainingBatch[]): Record<string, number> {
  return noGrad(() => {
    model.eval();
    let [sopCorrect, sopCount, mlmCorrect, mlmCount, mlmLoss, sopLoss] = [0, 0, 0, 0, 0, 0];
    for (const batch of batches) {
      const out = forward(model, batch);
      sopCorrect += out.sopLogits.argmax(1).eq(out.sopTargets).to('float32').sum().item();
      mlmCorrect += out.mlmLogits.argmax(1).eq(out.mlmTargets).to('float32').sum().item();
      sopCount += batch.sopLabels.length;
      mlmCount += batch.maskedTargets.length;
      mlmLoss += out.mlmLoss.item() * batch.maskedTargets.length;
      sopLoss += out.sopLoss.item() * batch.sopLabels.length;
    }
    model.train();
    return {
      sopAccuracy: (100 * sopCorrect) / sopCount,
      mlmAccuracy: (100 * mlmCorrect) / mlmCount,
      mlmLoss: mlmLoss / mlmCount,
      sopLoss: sopLoss / sopCount,
    };
  });
}

/** The held-out batches every arm is scored on: fixed swaps and masks from their own generator. */
export function heldOutBatches(
  config: LanguageConfig,
  test: VersePair[],
  vocabSize: number,
): PretrainingBatch[] {
  const evalGenerator = new Generator(31_102);
  const heldOut = test.slice(0, config.evalPairs);
  const batches: PretrainingBatch[] = [];
  for (let i = 0; i < heldOut.length; i += 64)
    batches.push(makeBatch(heldOut.slice(i, i + 64), evalGenerator, config.model.maxLength, vocabSize));
  return batches;
}

/**
 * What a model that learned nothing but frequencies scores on the held-out batches: MLM by always
 * predicting the most frequent training word, SOP by always predicting the more common label.
 */
export function languageBaselines(batches: PretrainingBatch[], mostFrequentWord: number) {
  let [hits, masked, swapped, pairs] = [0, 0, 0, 0];
  for (const b of batches) {
    for (const t of b.maskedTargets) hits += t === mostFrequentWord ? 1 : 0;
    masked += b.maskedTargets.length;
    for (const label of b.sopLabels) swapped += label;
    pairs += b.sopLabels.length;
  }
  return { mlm: (100 * hits) / masked, sop: (100 * Math.max(swapped, pairs - swapped)) / pairs };
}

export async function runLanguage(
  config: LanguageConfig,
  corpus: { vocabSize: number; train: VersePair[]; test: VersePair[] },
  context: RunnerContext,
): Promise<JobResult[]> {
  const train = corpus.train.slice(0, config.trainLimit ?? undefined);
  const evalBatches = heldOutBatches(config, corpus.test, corpus.vocabSize);
  const modelOptions: AlbertOptions = { ...config.model, vocabSize: corpus.vocabSize };
  const results: JobResult[] = [];
  for (let seed = 0; seed < config.seeds; seed++) {
    for (const weightDecay of config.weightDecays) {
      for (const optimizer of config.optimizers) {
        for (const withAgr of [false, true]) {
          const arm: Arm = { optimizer, agr: withAgr, lr: config.lr, weightDecay };
          const name = armName(arm);
          const order = new BatchOrder(train.length, config.batchSize, seed);
          const totalSteps = config.epochs * order.stepsPerEpoch;
          const evalEvery = Math.max(1, Math.ceil(totalSteps / config.evalPoints));
          const probeEvery = Math.max(1, Math.floor(totalSteps / config.probePoints));
          const logEvery = Math.max(1, Math.floor(totalSteps / 100));
          const spec = {
            key: `wd${weightDecay}/${name}/seed${seed}`,
            label: `wd ${weightDecay} · ${name} · seed ${seed}`,
            totalSteps,
          };
          const info = {
            model: 'albert',
            weightDecay: String(weightDecay),
            arm: name,
            optimizer,
            agr: withAgr,
            seed,
          };
          results.push(
            await runJob(context, spec, info, () => {
              manualSeed(seed);
              const model = new TinyAlbert(modelOptions);
              const optim = new Optimizer(model, makeTransform(arm, totalSteps));
              return {
                parts: { model, optimizer: optim },
                evalEvery,
                step(step, log) {
                  // Swaps and masks from a generator keyed by (seed, step): resumable and identical across arms.
                  const random = new Generator(seed * 7_368_787 + step);
                  const pairs = Array.from(order.batch(step), (i) => train[i]);
                  const out = forward(
                    model,
                    makeBatch(pairs, random, config.model.maxLength, corpus.vocabSize),
                  );
                  optim.zeroGrad();
                  out.loss.backward();
                  if (step % probeEvery === 0 || step === 1)
                    probeGradients(log, step, model.namedParameters());
                  optim.step();
                  recordLoss(log, step, out.loss.item(), logEvery);
                },
                evaluate: () => evaluateAlbert(model, evalBatches),
              };
            }),
          );
        }
      }
    }
  }
  return results;
}
