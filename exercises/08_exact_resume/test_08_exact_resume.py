import torch


def test_order_depends_only_on_seed_and_epoch(impl):
    torch.manual_seed(0)
    straight = impl.EpochSampler(50, seed=7)
    orders = []
    for epoch in range(4):
        straight.set_epoch(epoch)
        orders.append(list(straight))
    torch.manual_seed(123)                      # a resumed process: another history
    torch.rand(1000)
    resumed = impl.EpochSampler(50, seed=7)
    resumed.set_epoch(3)
    assert list(resumed) == orders[3]
    assert orders[2] != orders[3] and sorted(orders[3]) == list(range(50))
