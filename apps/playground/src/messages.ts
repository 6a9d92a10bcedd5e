/** What the page and the training worker say to each other. */
import type { AutogradGraph } from '@agrad/autograd';
import type { RunReport, Settings } from './trainer.js';

export type ToWorker =
  /** `epoch` numbers the reset: reports carry it, so the page can drop ones from before. */
  | { type: 'reset'; settings: Settings; epoch: number; baseUrl: string }
  | { type: 'start' }
  | { type: 'pause' }
  | { type: 'step'; count: number }
  /** Export run 0 or 1's model as ONNX, as it is now. */
  | { type: 'export'; run: 0 | 1 };

export interface Boundary {
  /** Predicted class per grid cell, row by row from the top. */
  classes: Int32Array;
  /** The predicted class's probability per cell. */
  confidence: Float32Array;
}

export type FromWorker =
  | {
      type: 'ready';
      epoch: number;
      /** The backend name: 'gpu:webgl2', 'gpu:webgl' or 'cpu'. */
      backend: string;
      /** With the 'auto' backend: milliseconds per training step of each backend timed. */
      timings: Record<string, number>;
      dataset: string;
      classes: number;
      /** The training points of a 2-D set (null for images). */
      points: { x: Float32Array; y: Int32Array } | null;
      grid: number;
      /** The autograd graph behind run 1's loss on a batch of test data. */
      graph: AutogradGraph;
    }
  | {
      type: 'report';
      epoch: number;
      step: number;
      runs: [RunReport, RunReport];
      boundaries: Boundary[] | null;
    }
  | {
      type: 'onnx';
      epoch: number;
      run: 0 | 1;
      step: number;
      /** The model as ONNX: input 'input' [batch, features], output 'logits' [batch, classes]. */
      bytes: Uint8Array;
      /** agrad's logits for the first test inputs, for checking the file elsewhere. */
      probe: { input: Float32Array; shape: number[]; logits: Float32Array };
    }
  | { type: 'error'; message: string };
