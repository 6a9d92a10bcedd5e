import { manualSeed, noGrad, type Tensor } from '@agrad/autograd';
import type { Module } from '@agrad/nn';
import { exportOnnx } from '@agrad/onnx';
import { getNumThreads } from '@agrad/tensor';
import * as ort from 'onnxruntime-node';
import * as agrad from './workloads/agrad.js';
import { CNN, TRANSFORMER } from './workloads/shapes.js';

/**
 * Inference throughput: agrad's own forward (eval mode, no graph) against onnxruntime-node on the
 * same model exported by @agrad/onnx, in one process, call by call in alternation (so a slow phase
 * of a shared machine hits both alike). onnxruntime gets as many threads as agrad's matmul.
 */
export interface InferenceRow {
  workload: string;
  unit: string;
  agrad: number;
  onnxruntime: number;
}

interface Case {
  workload: string;
  unit: string;
  perCall: number;
  model: () => Module;
  input: () => Tensor;
}

const CASES: Case[] = [
  {
    workload: `CNN inference (PERF.md CNN), batch ${CNN.batch}`,
    unit: 'samples/s',
    perCall: CNN.batch,
    model: agrad.cnnModel,
    input: agrad.cnnInput,
  },
  {
    workload: `transformer block inference (batch ${TRANSFORMER.batch}, seq ${TRANSFORMER.sequence}, width ${TRANSFORMER.width})`,
    unit: 'sequences/s',
    perCall: TRANSFORMER.batch,
    model: agrad.transformerBlock,
    input: agrad.transformerInput,
  },
];

export async function measureInference(budgetSeconds: number): Promise<InferenceRow[]> {
  const rows: InferenceRow[] = [];
  for (const c of CASES) {
    manualSeed(0);
    const model = c.model().eval();
    const x = c.input();
    const session = await ort.InferenceSession.create(exportOnnx(model, x), {
      intraOpNumThreads: getNumThreads(),
      interOpNumThreads: 1,
      executionMode: 'sequential',
    });
    const feeds = { input: new ort.Tensor('float32', Float32Array.from(x.array.read()), [...x.shape]) };
    const forward = () => noGrad(() => model.forward(x as never) as Tensor);
    const times: [number[], number[]] = [[], []];
    for (let i = 0; i < 2; i++) {
      forward();
      await session.run(feeds);
    }
    const start = performance.now();
    while (times[0].length < 5 || (performance.now() - start) / 1000 < budgetSeconds) {
      let t0 = performance.now();
      forward();
      times[0].push(performance.now() - t0);
      t0 = performance.now();
      await session.run(feeds);
      times[1].push(performance.now() - t0);
      if (times[0].length >= 1000) break;
    }
    await session.release();
    const median = (t: number[]) => [...t].sort((a, b) => a - b)[Math.floor(t.length / 2)] / 1000;
    rows.push({
      workload: c.workload,
      unit: c.unit,
      agrad: c.perCall / median(times[0]),
      onnxruntime: c.perCall / median(times[1]),
    });
  }
  return rows;
}
