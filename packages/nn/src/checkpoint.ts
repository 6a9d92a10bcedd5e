import type { Tensor } from '@agrad/autograd';
import { loadFile, save } from './safetensors.js';

/** Anything with PyTorch-style state dicts: a Module, an Optimizer. */
export interface Stateful {
  stateDict(): Record<string, Tensor>;
  loadStateDict(state: Readonly<Record<string, Tensor>>): void;
}

/**
 * Saves several stateful objects in one safetensors file, each under its own prefix
 * (`model.0.weight`, `optimizer.1/0.weight/expAvg`), plus string metadata (e.g. the RNG state
 * and step count, so a resumed run is bit-identical).
 */
export function saveCheckpoint(
  path: string,
  parts: Record<string, Stateful>,
  metadata: Record<string, string> = {},
): void {
  const tensors: Record<string, Tensor> = {};
  for (const [prefix, part] of Object.entries(parts)) {
    for (const [key, value] of Object.entries(part.stateDict())) tensors[`${prefix}.${key}`] = value;
  }
  save(path, tensors, metadata);
}

/** Loads what saveCheckpoint wrote into the same parts; returns the metadata. */
export function loadCheckpoint(path: string, parts: Record<string, Stateful>): Record<string, string> {
  const { tensors, metadata } = loadFile(path);
  const known = Object.keys(parts);
  const unknown = Object.keys(tensors).filter((k) => !known.some((p) => k.startsWith(`${p}.`)));
  if (unknown.length > 0)
    throw new Error(
      `loadCheckpoint: ${path} has entries for no given part: ${unknown.slice(0, 5).join(', ')}`,
    );
  for (const [prefix, part] of Object.entries(parts)) {
    const own: Record<string, Tensor> = {};
    for (const [key, value] of Object.entries(tensors))
      if (key.startsWith(`${prefix}.`)) own[key.slice(prefix.length + 1)] = value;
    try {
      part.loadStateDict(own);
    } catch (error) {
      throw new Error(`loadCheckpoint: ${path}, part '${prefix}': ${(error as Error).message}`);
    }
  }
  return metadata;
}
