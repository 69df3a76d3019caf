"""Run by tests/test_distributed.py under `torchrun --nproc_per_node=2` (CPU, gloo).

    dist_worker.py step OUT   one SGD step, each process on its half of a batch of 128
    dist_worker.py eval OUT   distributed evaluation of a seeded model on 101 images
Rank 0 writes what it got to OUT."""
import json
import logging
import sys

import torch

import tiny
import data
from config import BackboneConfig, HeadConfig, ModelConfig, OptimizerConfig, test_pipeline
from eval_hooks import DistEvalHook
from model import MMDistributedDataParallel, build_classifier
from optimizer import build_optimizer
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


class Small(data.SyntheticCIFAR10):
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


if __name__ == '__main__':
    torch.distributed.init_process_group('gloo')
    {'step': step, 'eval': evaluate}[sys.argv[1]](sys.argv[2])
    torch.distributed.destroy_process_group()
