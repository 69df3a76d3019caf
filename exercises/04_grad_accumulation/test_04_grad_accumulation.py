import torch

from conftest import run


def test_batch_1_x_2_equals_batch_2(impl):
    big = run([], epochs=1, n=8, batch_size=2)
    acc = run([(impl.AccumulateOptimizerHook(2), 'ABOVE_NORMAL')], epochs=1, n=8, batch_size=1,
              optimizer_hook=False)
    for a, b in zip(big.model.parameters(), acc.model.parameters()):
        assert torch.allclose(a, b, atol=1e-6)
