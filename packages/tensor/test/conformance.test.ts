import { cpuBackend } from '../src/index.js';
import { describeConformance, describeReferenceCompleteness } from './conformance.js';

// The suite itself is in conformance.ts, so that @agrad/gpu's tests run it on gpu.js too.
describeReferenceCompleteness();
describeConformance([{ name: 'cpu', backend: cpuBackend, missing: null, required: true }]);
