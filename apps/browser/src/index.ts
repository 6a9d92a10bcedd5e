/**
 * agrad for browsers: every package in one ES module, each under its own name, plus the gpu.js
 * backend (WebGL2 or WebGL in a page or a worker; the CPU backend where neither exists).
 *
 *   import { autograd, nn, optim, gpu } from './agrad.browser.js';
 *   const backend = gpu.useGpu();   // backend.mode: 'webgl2', 'webgl', ...
 */
export * as autograd from '@agrad/autograd';
export * as gpu from '@agrad/gpu';
export * as nn from '@agrad/nn';
export * as optim from '@agrad/optim';
export * as tensor from '@agrad/tensor';
