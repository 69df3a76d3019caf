"""Distributed training: one process per device, started by torchrun (mmcv: init_dist,
MMDistributedDataParallel, DistEvalHook, collect_results).

    torchrun --nproc_per_node=2 train.py --config configs/demo.py --launcher pytorch

train.py imports this module only with `--launcher pytorch`. Each process joins the group
(`init_dist`), wraps its model (`wrap_model`: SyncBN if asked, then DDP), loads its own
share of every epoch (data.py's DefaultSampler), evaluates its share of the val set
(`DistEvalHook`), and agrees with the others on a Ctrl-C / SIGTERM / SIGHUP
(`DistStopSignalHook`).
Only rank 0 writes logs and checkpoints.
"""
import os
from collections import OrderedDict

import torch

from extras.run.guards import StopSignalHook
from hooks import EvalHook
from model import unwrap


def init_dist(backend, device):
    """Join the process group that torchrun describes in the environment; return (rank, the
    device of this process). mmcv: init_dist('pytorch')."""
    from config import ConfigError
    missing = [k for k in ('RANK', 'WORLD_SIZE', 'LOCAL_RANK', 'MASTER_ADDR', 'MASTER_PORT') if k not in os.environ]
    if missing:
        raise ConfigError(f'--launcher pytorch needs the environment torchrun sets ({", ".join(missing)} missing); '
                          'start it as: torchrun --nproc_per_node=N train.py --config ... --launcher pytorch')
    backend = backend or ('nccl' if device == 'cuda' else 'gloo')
    if not torch.distributed.is_backend_available(backend):
        valid = [b for b in ('gloo', 'nccl', 'mpi') if torch.distributed.is_backend_available(b)]
        raise ConfigError(f'dist_params.backend={backend!r} is not available in this torch build; '
                          f'valid here: {", ".join(valid)}')
    if backend == 'nccl' and device != 'cuda':
        raise ConfigError("dist_params.backend='nccl' needs CUDA devices; use 'gloo' on CPUs")
    local_rank = int(os.environ['LOCAL_RANK'])
    if device == 'cuda':
        torch.cuda.set_device(local_rank)
        device = f'cuda:{local_rank}'
    torch.distributed.init_process_group(backend)
    return torch.distributed.get_rank(), device


class MMDistributedDataParallel(torch.nn.parallel.DistributedDataParallel):
    """DistributedDataParallel with the runner's step interface (mmcv: MMDistributedDataParallel).

    The forward pass must go through DDP's own __call__, so that backward() averages the
    gradients over the processes; then the losses are parsed as in ImageClassifier, and the
    logged values averaged over the processes (mmcls does the same in _parse_losses)."""

    def train_step(self, data, optimizer=None):
        loss, log_vars = self.module._parse_losses(self(**data))
        values = torch.stack(list(log_vars.values()))
        torch.distributed.all_reduce(values.div_(torch.distributed.get_world_size()))
        return dict(loss=loss, log_vars=OrderedDict(zip(log_vars, values)), num_samples=data['img'].shape[0])

    def val_step(self, data, optimizer=None):
        return self.train_step(data, optimizer)


def wrap_model(model, sync_bn=False):
    """SyncBatchNorm (BN statistics over all processes; torch's works on GPUs only) if asked,
    then DDP. mmcv passes broadcast_buffers=False, deprecated in torch 2.14: its new name is
    forward_sync_buffers. Buffers are still copied from rank 0 once, at wrap time: every rank
    holds the same seeded model anyway."""
    on_gpu = next(model.parameters()).is_cuda
    if sync_bn:
        if not on_gpu:
            from config import ConfigError
            raise ConfigError('sync_bn=True needs CUDA devices (torch.nn.SyncBatchNorm is GPU-only)')
        model = torch.nn.SyncBatchNorm.convert_sync_batchnorm(model)
    return MMDistributedDataParallel(model, device_ids=[torch.cuda.current_device()] if on_gpu else None,
                                     forward_sync_buffers=False)


def collect_results(part, size):
    """Every process's results -> the whole list in dataset order (mmcv: collect_results_cpu).
    With round_up, the sampler gave process r the samples r, r + W, r + 2W, ... and padded
    the last round with repeats: interleave the parts back, then drop the padding."""
    parts = [None] * torch.distributed.get_world_size()
    torch.distributed.all_gather_object(parts, part)
    ordered = [result for round_ in zip(*parts) for result in round_]
    return ordered[:size]


class DistEvalHook(EvalHook):
    """Every process evaluates its share of the val set; rank 0 gathers the results in
    dataset order, computes the metrics, logs them and keeps the best checkpoint
    (mmcv: DistEvalHook). BN statistics of rank 0 are copied to all processes first, so
    every shard is evaluated with the same model."""

    def test(self, runner):
        model = unwrap(runner.model)
        for module in model.modules():
            if isinstance(module, torch.nn.modules.batchnorm._BatchNorm):
                torch.distributed.broadcast(module.running_var, 0)
                torch.distributed.broadcast(module.running_mean, 0)
        results = collect_results(super().test(runner), len(self.dataloader.dataset))
        return results if runner.rank == 0 else None


class DistStopSignalHook(StopSignalHook):
    """One process cannot stop alone (the others would wait for it forever): every
    `interval` iterations they all ask whether any of them got a signal, and stop together."""

    def __init__(self, interval=50):
        super().__init__()
        self.interval = interval

    def signal_received(self, runner):
        if (runner.iter + 1) % self.interval:
            return False
        flag = torch.tensor([float(self.signum or 0)], device=runner.device)
        torch.distributed.all_reduce(flag, op=torch.distributed.ReduceOp.MAX)
        self.signum = int(flag.item()) or None
        return self.signum is not None
