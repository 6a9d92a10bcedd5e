/**
 * One training run, written once for the page (with the browser bundle) and for Node (with the
 * packages): a small CNN and an MLP head, AGR in front of AdamW, three steps on a fixed batch from
 * a fixed seed. Returns the losses and the parameters as plain arrays.
 *
 * `agrad` is { autograd, nn, optim, tensor }; `backend` is the one to train on.
 */
export function trainSteps(agrad, backend, steps = 3) {
  const { autograd, nn, optim, tensor } = agrad;
  const previous = tensor.getBackend();
  tensor.setBackend(backend);
  try {
    autograd.manualSeed(11);
    const model = new nn.Sequential(
      // No bias before BatchNorm: its gradient is zero up to rounding, and Adam would turn that
      // rounding noise into full-size steps that differ between backends.
      new nn.Conv2d(1, 4, 3, { padding: 1, bias: false }),
      new nn.BatchNorm2d(4),
      new nn.ReLU(),
      new nn.MaxPool2d(2),
      new nn.Flatten(),
      new nn.Linear(4 * 3 * 3, 16),
      new nn.ReLU(),
      new nn.Linear(16, 3),
    );
    const x = autograd.randn([6, 1, 6, 6]);
    const y = autograd.randint(0, 3, [6]);
    const optimizer = new optim.Optimizer(model, optim.chain(optim.agr(), optim.adamw({ lr: 0.01 })));
    const losses = [];
    for (let step = 0; step < steps; step++) {
      const loss = nn.F.crossEntropy(model.forward(x), y);
      optimizer.zeroGrad();
      loss.backward();
      optimizer.step();
      losses.push(loss.item());
    }
    const params = {};
    for (const [name, p] of model.namedParameters()) params[name] = Array.from(p.data);
    return { losses, params, backend: backend.name };
  } finally {
    tensor.setBackend(previous);
  }
}
