/**
 * @agrad/optim: optimizers as gradient transforms. Filled in by the optim issue; for now it re-exports the
 * autograd surface the optimizers will build on.
 */
export { Tensor } from '@agrad/autograd';
