import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randn, type Tensor, tensor } from '@agrad/autograd';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { deserialize, load, loadFile, save, serialize } from '../src/index.js';

const fixtures = join(import.meta.dirname, 'fixtures');
const values = (t: Tensor) => Array.from(t.data);

describe('safetensors', () => {
  it('reads a file written by PyTorch (safetensors.torch.save_file)', () => {
    const { tensors, metadata } = loadFile(join(fixtures, 'torch-written.safetensors'));
    expect(metadata).toEqual({ written_by: 'safetensors.torch', step: '7' });
    expect(tensors['linear.weight'].dtype).toBe('float32');
    expect(tensors['linear.weight'].shape).toEqual([3, 4]);
    expect(values(tensors['linear.weight'])).toEqual(Array.from({ length: 12 }, (_, i) => i / 8));
    expect(tensors['linear.bias'].dtype).toBe('float64');
    expect(values(tensors['linear.bias'])).toEqual([-1.5, -0.5, 0.5]);
    // int64 is read as int32 (every value fits), as agrad has no int64.
    expect(tensors['bn.num_batches_tracked'].dtype).toBe('int32');
    expect(tensors['bn.num_batches_tracked'].shape).toEqual([]);
    expect(tensors['bn.num_batches_tracked'].item()).toBe(7);
    expect(tensors.mask.toArray()).toEqual([true, false, true]);
    expect(values(tensors.half)).toEqual([0.5, -2, 65504]);
    expect(values(tensors.bhalf)[0]).toBe(1);
    expect(values(tensors.bhalf)[1]).toBe(-0.375);
    expect(tensors.ids.toArray()).toEqual([
      [1, 2],
      [3, -4],
    ]);
  });

  it('round-trips every dtype, shape and metadata (property)', () => {
    fc.assert(
      fc.property(
        fc.array(fc.integer({ min: 0, max: 4 }), { maxLength: 3 }),
        fc.constantFrom('float32', 'float64', 'int32', 'bool' as const),
        fc.dictionary(fc.string({ minLength: 1, maxLength: 5 }), fc.string({ maxLength: 8 })),
        (shape, dtype, metadata) => {
          const t = randn(shape, { dtype: 'float64' }).mul(10).to(dtype);
          const back = deserialize(serialize({ 'a.b': t, scalar: tensor(3.5) }, metadata));
          expect(back.tensors['a.b'].dtype).toBe(dtype);
          expect(back.tensors['a.b'].shape).toEqual(shape);
          expect(values(back.tensors['a.b'])).toEqual(values(t));
          expect(back.tensors.scalar.item()).toBe(3.5);
          expect(back.metadata).toEqual(metadata);
        },
      ),
      { numRuns: 50 },
    );
  });

  it('writes the 8-byte-aligned header the format specifies', () => {
    const bytes = serialize({ x: tensor([1, 2, 3]) });
    const headerLength = Number(new DataView(bytes.buffer).getBigUint64(0, true));
    expect(headerLength % 8).toBe(0);
    const header = JSON.parse(new TextDecoder().decode(bytes.subarray(8, 8 + headerLength)));
    expect(header.x).toEqual({ dtype: 'F32', shape: [3], data_offsets: [0, 12] });
  });

  it('save writes through a temporary file and leaves nothing else behind', () => {
    const dir = mkdtempSync(join(tmpdir(), 'agrad-st-'));
    const path = join(dir, 'model.safetensors');
    save(path, { w: tensor([1, 2]) });
    save(path, { w: tensor([3, 4]) });
    expect(readdirSync(dir)).toEqual(['model.safetensors']);
    expect(values(load(path).w)).toEqual([3, 4]);
  });

  it('names the file and the problem for truncated, corrupt and mismatched files', () => {
    const dir = mkdtempSync(join(tmpdir(), 'agrad-st-'));
    const good = serialize({ w: tensor([1, 2, 3, 4]) });
    const write = (name: string, bytes: Uint8Array) => {
      writeFileSync(join(dir, name), bytes);
      return join(dir, name);
    };
    expect(() => load(write('short.safetensors', good.subarray(0, 5)))).toThrow(
      /short\.safetensors: file is 5 bytes, too short/,
    );
    expect(() => load(write('cut.safetensors', good.subarray(0, good.length - 3)))).toThrow(
      /cut\.safetensors: tensor 'w': data_offsets end at byte 16 but the data section has 13 bytes \(truncated\?\)/,
    );
    expect(() => load(write('header.safetensors', good.subarray(0, 20)))).toThrow(
      /header claims \d+ bytes but only 12 follow/,
    );
    const corrupt = good.slice();
    corrupt[9] = 0x7b; // breaks the JSON
    corrupt[10] = 0x7b;
    expect(() => load(write('corrupt.safetensors', corrupt))).toThrow(
      /corrupt\.safetensors: header is not valid JSON/,
    );
    const mismatch = new TextEncoder().encode(
      JSON.stringify({ w: { dtype: 'F32', shape: [5], data_offsets: [0, 16] } }),
    );
    const bytes = new Uint8Array(8 + mismatch.length + 16);
    new DataView(bytes.buffer).setBigUint64(0, BigInt(mismatch.length), true);
    bytes.set(mismatch, 8);
    expect(() => load(write('mismatch.safetensors', bytes))).toThrow(
      /tensor 'w': F32 \[5\] needs 20 bytes but data_offsets \[0, 16\] span 16/,
    );
    expect(() => load(join(dir, 'missing.safetensors'))).toThrow(/cannot read .*missing\.safetensors/);
  });

  it('produces bytes PyTorch reads (checked by scripts/golden/safetensors_interop.py check)', () => {
    // The Python check needs safetensors installed; here we pin the exact bytes it was run on.
    const bytes = serialize({
      weight: tensor(
        Float32Array.from({ length: 12 }, (_, i) => i / 8),
        { shape: [3, 4] },
      ),
      bias: tensor(Float64Array.from([-1.5, -0.5, 0.5])),
      count: tensor(new Int32Array([7]), { shape: [] }),
      mask: tensor([true, false, true]),
    });
    const written = readFileSync(join(fixtures, 'agrad-written.safetensors'));
    expect(Buffer.from(bytes).equals(written)).toBe(true);
  });
});
