import type { DType } from '@agrad/tensor';
import protobuf from 'onnx-proto';

/**
 * An ONNX graph under construction, and its encoding. The messages are ONNX's own (onnx.proto,
 * compiled with protobufjs by the `onnx-proto` package): this file only fills them in.
 */

const { onnx } = protobuf;

/** ONNX's TensorProto.DataType for each agrad dtype. */
export const ONNX_TYPE: Record<DType, number> = {
  float32: onnx.TensorProto.DataType.FLOAT,
  float64: onnx.TensorProto.DataType.DOUBLE,
  int32: onnx.TensorProto.DataType.INT32,
  bool: onnx.TensorProto.DataType.BOOL,
};

/** An attribute value: a number is an INT when integral and declared so, see `float`. */
export type AttributeValue = number | string | readonly number[] | { float: number };

/** A dim of a value's declared shape: a size, or the name of a dynamic axis (or null: unnamed). */
export type Dim = number | string | null;

/** An ONNX graph input or output: name, dtype and shape (a named or null dim is dynamic). */
export interface ValueInfo {
  name: string;
  dtype: DType;
  shape: readonly Dim[];
}

/** The bytes of a typed array, little-endian as ONNX's raw_data (every supported host is). */
function rawBytes(values: ArrayBufferView): Uint8Array {
  return new Uint8Array(values.buffer.slice(values.byteOffset, values.byteOffset + values.byteLength));
}

function attribute(name: string, value: AttributeValue): protobuf.onnx.IAttributeProto {
  const { AttributeType } = onnx.AttributeProto;
  if (typeof value === 'string')
    return { name, type: AttributeType.STRING, s: new TextEncoder().encode(value) };
  if (typeof value === 'number') return { name, type: AttributeType.INT, i: value };
  if ('float' in value) return { name, type: AttributeType.FLOAT, f: value.float };
  return { name, type: AttributeType.INTS, ints: [...value] };
}

function valueInfo({ name, dtype, shape }: ValueInfo): protobuf.onnx.IValueInfoProto {
  const dim = shape.map((d) => (typeof d === 'number' ? { dimValue: d } : d === null ? {} : { dimParam: d }));
  return { name, type: { tensorType: { elemType: ONNX_TYPE[dtype], shape: { dim } } } };
}

/** Builds an ONNX graph node by node (inputs, outputs, initializers, nodes with attributes) and encodes the model as protobuf bytes. */
export class GraphBuilder {
  private readonly nodes: protobuf.onnx.INodeProto[] = [];
  private readonly initializers: protobuf.onnx.ITensorProto[] = [];
  private readonly names = new Set<string>();
  private counter = 0;

  /** A name not used yet, from `hint` ('conv2d' -> 'conv2d_7'); a free hint is kept as it is. */
  fresh(hint: string, exact = false): string {
    if (exact && !this.names.has(hint)) {
      this.names.add(hint);
      return hint;
    }
    let name: string;
    do name = `${hint}_${this.counter++}`;
    while (this.names.has(name));
    this.names.add(name);
    return name;
  }

  /** Adds a node; returns the names of its outputs (fresh ones unless given). */
  node(
    opType: string,
    inputs: readonly string[],
    attributes: Readonly<Record<string, AttributeValue | undefined>> = {},
    outputs: number | readonly string[] = 1,
  ): string[] {
    const names =
      typeof outputs === 'number'
        ? Array.from({ length: outputs }, () => this.fresh(opType.toLowerCase()))
        : [...outputs];
    this.nodes.push({
      opType,
      name: this.fresh(`${opType}_node`),
      input: [...inputs],
      output: names,
      attribute: Object.entries(attributes)
        .filter(([, v]) => v !== undefined)
        .map(([k, v]) => attribute(k, v as AttributeValue)),
    });
    return names;
  }

  /** Adds an initializer holding `values` with `shape`; returns its name. */
  initializer(
    hint: string,
    dtype: DType,
    shape: readonly number[],
    values: ArrayBufferView,
    exact = false,
  ): string {
    const name = this.fresh(hint, exact);
    this.initializers.push({ name, dataType: ONNX_TYPE[dtype], dims: [...shape], rawData: rawBytes(values) });
    return name;
  }

  /** A 1-D int64 initializer (shapes, axes, slice bounds): ONNX wants int64 there. */
  int64s(values: readonly number[]): string {
    const name = this.fresh('ints');
    const data = BigInt64Array.from(values, (v) => BigInt(v));
    this.initializers.push({
      name,
      dataType: onnx.TensorProto.DataType.INT64,
      dims: [values.length],
      rawData: rawBytes(data),
    });
    return name;
  }

  /** The finished model as ONNX protobuf bytes, with its opset and producer. */
  encode(options: {
    name: string;
    opset: number;
    inputs: readonly ValueInfo[];
    outputs: readonly ValueInfo[];
    producerVersion: string;
  }): Uint8Array {
    const model = onnx.ModelProto.create({
      // IR version 8 (ONNX 1.10-1.12) reads opsets up to 17; later opsets need IR version 9.
      irVersion: options.opset <= 17 ? 8 : 9,
      opsetImport: [{ domain: '', version: options.opset }],
      producerName: 'agrad',
      producerVersion: options.producerVersion,
      graph: {
        name: options.name,
        node: this.nodes,
        initializer: this.initializers,
        input: options.inputs.map(valueInfo),
        output: options.outputs.map(valueInfo),
      },
    });
    // A plain Uint8Array of its own: protobufjs returns a Buffer in Node, which may be a view of
    // a shared pool (transferring its buffer to a worker would take the pool with it).
    return new Uint8Array(onnx.ModelProto.encode(model).finish());
  }
}
