/**
 * @agrad/nn: layers, losses and checkpoints. Filled in by the nn issue; for now it re-exports the
 * autograd surface the layers will build on.
 */
export { Tensor } from '@agrad/autograd';
