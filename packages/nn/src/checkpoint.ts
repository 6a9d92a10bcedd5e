import type { Tensor } from '@agrad/autograd';
import { checkOptions, rules } from '@agrad/tensor';
import { loadFile, save } from './safetensors.js';

/** Anything with PyTorch-style state dicts: a Module, an Optimizer. */
export interface Stateful {
  /** Everything needed to resume, as named tensors. */
  stateDict(): Record<string, Tensor>;
  /** Restores what stateDict() gave, refusing mismatched names or shapes. */
  loadStateDict(state: Readonly<Record<string, Tensor>>): unknown;
  /**
   * Throws what loadStateDict would refuse, changing nothing (Module and Optimizer have it).
   * Lets loadCheckpoint check every part before it changes any.
   */
  checkStateDict?(state: Readonly<Record<string, Tensor>>): unknown;
}

/**
 * Saves several stateful objects in one safetensors file, each under its own prefix
 * (`model.0.weight`, `optimizer.1/0.weight/expAvg`), plus string metadata (e.g. the RNG state
 * and step count, so a resumed run is bit-identical). Completely or not at all: a failed save
 * leaves the previous file as it was.
 */
export function saveCheckpoint(
  path: string,
  parts: Record<string, Stateful>,
  metadata: Record<string, string> = {},
): void {
  const tensors: Record<string, Tensor> = Object.create(null);
  for (const [prefix, part] of Object.entries(parts)) {
    for (const [key, value] of Object.entries(part.stateDict())) tensors[`${prefix}.${key}`] = value;
  }
  save(path, tensors, metadata);
}

export interface LoadCheckpointOptions {
  /** Checks the metadata before anything is loaded (throw to refuse the file). */
  checkMetadata?: (metadata: Readonly<Record<string, string>>) => void;
}

/**
 * Loads what saveCheckpoint wrote into the same parts and returns the metadata, all or nothing:
 * the file, every part's entries (keys, shapes, dtypes, counts) and the metadata are checked
 * before the first value is copied, so a bad file leaves every part as it was.
 */
export function loadCheckpoint(
  path: string,
  parts: Record<string, Stateful>,
  options: LoadCheckpointOptions = {},
): Record<string, string> {
  checkOptions('loadCheckpoint', options, { checkMetadata: rules.func });
  const { tensors, metadata } = loadFile(path);
  const known = Object.keys(parts);
  const unknown = Object.keys(tensors).filter((k) => !known.some((p) => k.startsWith(`${p}.`)));
  if (unknown.length > 0)
    throw new Error(
      `loadCheckpoint: ${path} has entries for no given part: ${unknown.slice(0, 5).join(', ')}`,
    );
  const own = (prefix: string) => {
    const out: Record<string, Tensor> = Object.create(null);
    for (const [key, value] of Object.entries(tensors))
      if (key.startsWith(`${prefix}.`)) out[key.slice(prefix.length + 1)] = value;
    return out;
  };
  const inPart = <T>(prefix: string, fn: () => T): T => {
    try {
      return fn();
    } catch (error) {
      throw new Error(`loadCheckpoint: ${path}, part '${prefix}': ${(error as Error).message}`, {
        cause: error,
      });
    }
  };
  for (const [prefix, part] of Object.entries(parts))
    inPart(prefix, () => part.checkStateDict?.(own(prefix)));
  options.checkMetadata?.(metadata);
  // Parts that cannot be checked load first, each restored from a snapshot if a later one fails;
  // the checked parts load last, once nothing can fail any more.
  const ordered = Object.entries(parts).sort(
    ([, a], [, b]) => Number(!!a.checkStateDict) - Number(!!b.checkStateDict),
  );
  const snapshots: [Stateful, Record<string, Tensor>][] = [];
  try {
    for (const [prefix, part] of ordered) {
      if (!part.checkStateDict) snapshots.push([part, snapshot(part)]);
      inPart(prefix, () => part.loadStateDict(own(prefix)));
    }
  } catch (error) {
    for (const [part, state] of snapshots) part.loadStateDict(state);
    throw error;
  }
  return metadata;
}

/** A copy of a part's state that later loads cannot change. */
function snapshot(part: Stateful): Record<string, Tensor> {
  const out: Record<string, Tensor> = Object.create(null);
  for (const [key, value] of Object.entries(part.stateDict())) out[key] = value.clone();
  return out;
}
