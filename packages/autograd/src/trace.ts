import type { Tensor } from './tensor.js';

/**
 * Tracing: a record of the ops one run of a function performs, for exporters (@agrad/onnx).
 *
 * The tape (./engine.ts) only remembers ops whose inputs require gradients, and only what their
 * vector-Jacobian products need. A trace remembers every op, whatever the grad mode, with the
 * arguments that are not tensors (dims, a dtype, a window) as attributes. Ops that have no
 * gradient (comparisons, argmax, detach) note themselves here too, so a traced value never
 * appears out of nowhere.
 *
 * Composite functions that an exporter knows as one unit (a convolution, a batch norm, an LSTM)
 * mark themselves with `traceAs`: inside it, the primitives they are made of are not noted, and
 * the trace holds the composite with its own attributes instead.
 */

export type TraceAttributes = Readonly<Record<string, unknown>>;

/** One op as a trace records it: its name, inputs, outputs, non-tensor arguments and the module scope it ran in (what an exporter such as @agrad/onnx reads). */
export interface TracedOp {
  /** A primitive's name ('add', 'permute') or a composite's ('conv2d', 'lstm'). */
  readonly op: string;
  readonly inputs: readonly Tensor[];
  readonly outputs: readonly Tensor[];
  readonly attributes: TraceAttributes;
  /** Where the op ran: the names pushed with `traceScope`, joined by dots ('' at the top). */
  readonly scope: string;
}

interface Tracer {
  readonly ops: TracedOp[];
  /** How many `traceAs` composites are running; their inner ops are not noted. */
  depth: number;
  readonly scope: string[];
}

let tracer: Tracer | null = null;

/** Runs `fn` and returns what it returned with every op it performed, in order. */
export function trace<T>(fn: () => T): { result: T; ops: TracedOp[] } {
  if (tracer) throw new Error('trace: already tracing (traces do not nest)');
  const active: Tracer = { ops: [], depth: 0, scope: [] };
  tracer = active;
  try {
    return { result: fn(), ops: active.ops };
  } finally {
    tracer = null;
  }
}

/** Whether a trace() is recording now. */
export function isTracing(): boolean {
  return tracer !== null;
}

/** Notes one op in the active trace (nothing when not tracing, or inside a composite). */
export function noteOp(
  op: string,
  inputs: readonly Tensor[],
  outputs: readonly Tensor[],
  attributes: TraceAttributes = {},
): void {
  if (!tracer || tracer.depth > 0) return;
  tracer.ops.push({ op, inputs, outputs, attributes, scope: tracer.scope.join('.') });
}

/**
 * Runs a composite as one traced op: `compute` runs with noting switched off, and its result
 * (a tensor, or a list of tensors) is noted as the outputs of `op` applied to `inputs`.
 * Outside a trace this is just `compute()`.
 */
export function traceAs<T extends Tensor | readonly Tensor[]>(
  op: string,
  inputs: readonly Tensor[],
  attributes: TraceAttributes,
  compute: () => T,
): T {
  const active = tracer;
  if (!active || active.depth > 0) return compute();
  active.depth++;
  let result: T;
  try {
    result = compute();
  } finally {
    active.depth--;
  }
  const outputs = Array.isArray(result) ? (result as readonly Tensor[]) : [result as Tensor];
  noteOp(op, inputs, outputs, attributes);
  return result;
}

/** Runs `fn` with `name` added to the scope of the ops it notes (a module's path). */
export function traceScope<T>(name: string, fn: () => T): T {
  const active = tracer;
  if (!active) return fn();
  active.scope.push(name);
  try {
    return fn();
  } finally {
    active.scope.pop();
  }
}
