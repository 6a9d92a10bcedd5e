/**
 * @agrad/onnx: export agrad models as ONNX, for onnxruntime and every serving stack that reads it.
 *
 * @example
 * import { saveOnnx } from '@agrad/onnx';
 * model.eval();
 * saveOnnx('model.onnx', model, exampleBatch, { dynamicAxes: { input: { 0: 'batch' } } });
 */
export { type ExportOptions, exportOnnx, MAX_OPSET, MIN_OPSET, saveOnnx } from './export.js';
export { type AttributeValue, type Dim, GraphBuilder, type ValueInfo } from './graph.js';
export { OPERATORS, type Operator, type OperatorContext } from './operators.js';
