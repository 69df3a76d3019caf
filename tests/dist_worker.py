"""Run by tests/test_distributed.py under `torchrun --nproc_per_node=2` (CPU, gloo).

    dist_worker.py step OUT   one SGD step, each process on its half of a batch of 128
    dist_worker.py eval OUT   distributed evaluation of a seeded model on 101 images
    dist_worker.py buffers OUT WORK   a checkpoint with sync_buffer=True
Rank 0 writes what it got to OUT."""
import json
import logging
import sys

import torch

import tiny
import data
from extras.demos import demo_data
from config import BackboneConfig, HeadConfig, ModelConfig, OptimizerConfig, test_pipeline
from extras.options.distributed import DistEvalHook, MMDistributedDataParallel
from hooks import Hook
from model import build_classifier
from runner import build_optimizer
from runner import EpochBasedRunner


def step(out):
    rank = torch.distributed.get_rank()
    torch.manual_seed(0)
    model = tiny.TinyModel()
    x, y = torch.randn(128, 4, generator=torch.Generator().manual_seed(1)), torch.arange(128) % 3
    ddp = MMDistributedDataParallel(model)
    optimizer = build_optimizer(ddp, OptimizerConfig(lr=0.1, momentum=0.9, weight_decay=1e-4))
    outputs = ddp.train_step({'img': x[rank * 64:(rank + 1) * 64], 'gt_label': y[rank * 64:(rank + 1) * 64]})
    optimizer.zero_grad()
    outputs['loss'].backward()
    optimizer.step()
    if rank == 0:
        torch.save({k: v for k, v in model.state_dict().items()}, out)


class Small(demo_data.SyntheticCIFAR10):
    num_train_batches, batch_size, num_test = 1, 50, 101


def evaluate(out):
    torch.manual_seed(0)
    model = build_classifier(ModelConfig(backbone=BackboneConfig(depth=18, num_stages=1, out_indices=(0,),
                                                                 base_channels=4, stem_channels=4),
                                         head=HeadConfig(in_channels=4)))
    model.init_weights()
    dataset = Small(sys.argv[3], test_pipeline, test_mode=True)
    loader = data.build_dataloader(dataset, 16, 0, dist=True, shuffle=False)
    logger = logging.getLogger('dist')
    runner = EpochBasedRunner(MMDistributedDataParallel(model), build_optimizer(model, OptimizerConfig()),
                              sys.argv[4], logger)
    hook = DistEvalHook(loader)
    results = hook.test(runner)
    if runner.rank == 0:
        with open(out, 'w') as f:
            json.dump({'n': len(results), 'metrics': dataset.evaluate(results),
                       'scores': [r.tolist() for r in results[:5]]}, f)


def buffers(out):
    """sync_buffer averages the BN statistics over the processes before saving."""
    from config import CheckpointConfig, LrConfig, OptimizerHookConfig
    rank = torch.distributed.get_rank()
    torch.manual_seed(0)
    model = build_classifier(ModelConfig(backbone=BackboneConfig(depth=18, num_stages=1, out_indices=(0,),
                                                                 base_channels=4, stem_channels=4),
                                         head=HeadConfig(in_channels=4)))
    ddp = MMDistributedDataParallel(model)
    runner = EpochBasedRunner(ddp, build_optimizer(ddp, OptimizerConfig()), sys.argv[3], logging.getLogger('d'),
                              meta={}, max_epochs=1)
    runner.register_training_hooks(LrConfig(policy='fixed'), OptimizerHookConfig(),
                                   CheckpointConfig(interval=1, sync_buffer=True))
    local = []

    class BeforeSync(Hook):              # each process's own statistics, before CheckpointHook
        def after_train_epoch(self, runner):
            local.append(model.backbone.bn1.running_mean.clone())
    runner.register_hook(BeforeSync(), 'ABOVE_NORMAL')
    g = torch.Generator().manual_seed(rank)
    batches = [{'img': torch.randn(4, 3, 8, 8, generator=g) + 3 * rank, 'gt_label': torch.arange(4)}]
    runner.run([batches], [('train', 1)])
    both = [torch.zeros_like(local[0]) for _ in range(2)]
    torch.distributed.all_gather(both, local[0])
    if rank == 0:
        saved = torch.load(f'{sys.argv[3]}/epoch_1.pth', weights_only=True)['state_dict']
        torch.save({'saved_mean': saved['backbone.bn1.running_mean'], 'rank_means': both}, out)


if __name__ == '__main__':
    torch.distributed.init_process_group('gloo')
    {'step': step, 'eval': evaluate, 'buffers': buffers}[sys.argv[1]](sys.argv[2])
    torch.distributed.destroy_process_group()
