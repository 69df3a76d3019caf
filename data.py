"""Data: the CIFAR datasets (their files read as untrusted input), the pipeline transforms,
build_dataset and build_dataloader.

    from config import cfg
    dataset = build_dataset(cfg.data.train)   # CIFAR10: 50000 infos
                                              # {'img': HWC uint8, 'gt_label'}
    loader = build_dataloader(dataset, cfg.data.samples_per_gpu, cfg.data.workers_per_gpu, seed=0)
    batch = next(iter(loader))    # {'img': float32 (128, 3, 32, 32),
                                  #  'gt_label': int64 (128,)}
    dataset.evaluate(scores)      # (N, 10) -> {'accuracy_top-1': ..}

An item is the pipeline's output for one image: the transforms run one after the other on a
results dict, as in mmcls. The demo's dataset (SyntheticCIFAR10), folders of image files
(CustomDataset, ImageNet, LoadImageFromFile, ...) and the batched transforms are extras,
reached through the tables DATASETS, PIPELINES and BATCH_PIPELINES, imported when a config
names them; the metrics beyond accuracy (extras/options/metrics.py) are imported where
BaseDataset.evaluate finds them asked for.
The file reads top-down: the builders, the datasets, the transforms, each above what it
calls; the checks of arguments stand after the code they check.
"""
import hashlib
import inspect
import multiprocessing
import os
import pickle
import random
import signal
import threading
from collections.abc import Mapping, Sequence
from functools import partial

import numpy as np
import torch
from torch.utils.data import DataLoader, Dataset, default_collate

from config import METRICS, ConfigError, lookup
from model import accuracy

try:                                           # numpy 2; numpy.core would warn there
    from numpy._core.multiarray import _reconstruct
except ImportError:                            # numpy 1
    from numpy.core.multiarray import _reconstruct


class DatasetError(RuntimeError):
    """A dataset file is missing, cannot be downloaded, or is corrupt."""


# ---- Builders  (mmcls: datasets/builder.py, samplers/distributed_sampler.py; mmcv: collate) --

def build_dataset(cfg):
    """A dataset from a DatasetConfig (type, data_prefix, pipeline, test_mode; ann_file and
    classes when given). mmcls: build_dataset."""
    dataset_cls = lookup(DATASETS, cfg.type, 'dataset type', base=Dataset)
    check_dataset_config(cfg)
    named = {k: getattr(cfg, k) for k in ('ann_file', 'classes') if getattr(cfg, k) is not None}
    dataset = dataset_cls(data_prefix=cfg.data_prefix, pipeline=cfg.pipeline,
                          test_mode=cfg.test_mode, batched=cfg.batched, **named)
    if cfg.num_samples is not None:
        dataset.data_infos = dataset.data_infos[:cfg.num_samples]
    return dataset


def build_dataloader(dataset, samples_per_gpu, workers_per_gpu, num_gpus=1, dist=False,
                     shuffle=True, round_up=True, seed=None, **kwargs):
    """A DataLoader, mmcls's way (mmcls: build_dataloader): not distributed, one loader feeds
    all num_gpus; distributed, each process loads its own share. kwargs go to the DataLoader."""
    rank, world_size = get_dist_info()
    if dist:
        check_enough_samples(dataset, world_size)
    else:  # one loader feeds all num_gpus
        rank, world_size = 0, 1
        samples_per_gpu = num_gpus * samples_per_gpu
        workers_per_gpu = num_gpus * workers_per_gpu
    batch_size, num_workers = samples_per_gpu, workers_per_gpu
    # Batch seeds go to BaseDatasets (they take (index, seed): BaseDataset.__getitem__).
    sampler = DefaultSampler(len(dataset), batch_size, shuffle, seed or 0, world_size, rank,
                             round_up, batch_seeds=isinstance(dataset, BaseDataset))
    init_fn = partial(worker_init_fn, num_workers=num_workers, rank=rank, seed=seed or 0)
    # The loader draws its workers' base seed from this generator, not torch's global one.
    kwargs.setdefault('generator', torch.Generator().manual_seed(seed or 0))
    if num_workers > 0:
        # mmcls's default: workers live across epochs (no start-up cost each epoch). The
        # batch seeds above make the augmentation independent of the workers' own streams.
        kwargs.setdefault('persistent_workers', True)
    if getattr(dataset, 'batched', False):
        collate_fn = partial(collate, pipeline=dataset.pipeline)
    else:
        collate_fn = collate
    return DataLoader(dataset, batch_size=batch_size, sampler=sampler, num_workers=num_workers,
                      collate_fn=collate_fn, worker_init_fn=init_fn, **kwargs)


def get_dist_info():
    """(rank, world_size); (0, 1) when not distributed. mmcv: get_dist_info."""
    if torch.distributed.is_available() and torch.distributed.is_initialized():
        return torch.distributed.get_rank(), torch.distributed.get_world_size()
    return 0, 1


class DefaultSampler(torch.utils.data.Sampler):
    """Which samples, in which order, and the seed of every batch (mmengine: DefaultSampler;
    mmcls: DistributedSampler). Epoch e's order is a permutation from a generator seeded from
    the pair (seed, e) (`epoch_seed`; `set_epoch` picks e), the same on every rank: it does not
    depend on what ran before, and no two runs share an epoch's stream (with seed + e, seeds
    s and s + 1 would share all but one). Each rank takes every num_replicas-th index;
    `round_up` repeats the first ones so that every rank gets as many. Elements are
    `(index, batch_seed)`: the first sample of each batch carries a seed from the generator
    (None for the others), with which the dataset seeds `random` and `np.random`. A batch's
    augmentation is then a function of (seed, epoch, batch), whichever worker makes it: a
    resumed run sees the same batches, to the bit."""

    def __init__(self, dataset_len, batch_size, shuffle=True, seed=0, num_replicas=1,
                 rank=0, round_up=True, batch_seeds=True):
        self.n, self.batch_size, self.shuffle, self.seed = dataset_len, batch_size, shuffle, seed
        self.batch_seeds = batch_seeds         # False: plain indices (datasets that take ints)
        self.num_replicas, self.rank, self.round_up = num_replicas, rank, round_up
        self.num_samples = (-(-dataset_len // num_replicas) if round_up
                            else len(range(rank, dataset_len, num_replicas)))
        self.epoch = 0
        self.skip_batches = 0                  # set by a mid-epoch resume, for one epoch

    def set_epoch(self, epoch):
        self.epoch = epoch

    def __iter__(self):
        g = torch.Generator().manual_seed(epoch_seed(self.seed, self.epoch))
        if self.shuffle:
            order = torch.randperm(self.n, generator=g).tolist()
        else:
            order = list(range(self.n))
        if self.round_up:                      # pad to num_samples per rank, as mmcls does
            total = self.num_samples * self.num_replicas
            order = (order * (total // max(self.n, 1) + 1))[:total]
        mine = order[self.rank::self.num_replicas][:self.num_samples]
        num_batches = -(-len(mine) // self.batch_size)
        seeds = torch.randint(0, 2 ** 31, (self.num_replicas, num_batches), generator=g)
        seeds = seeds[self.rank].tolist()
        start, self.skip_batches = self.skip_batches * self.batch_size, 0
        for pos in range(start, len(mine)):
            if self.batch_seeds:
                first = pos % self.batch_size == 0
                yield mine[pos], (seeds[pos // self.batch_size] if first else None)
            else:
                yield mine[pos]

    def __len__(self):
        return self.num_samples


def epoch_seed(seed, epoch):
    """The seed of epoch `epoch`'s order and batch seeds: numpy's SeedSequence hash of the pair
    (seed, epoch), so that distinct pairs get unrelated streams (a negative seed, which torch
    accepts, is taken modulo 2 ** 64)."""
    return int(np.random.SeedSequence([seed % 2 ** 64, epoch]).generate_state(1, np.uint64)[0])


def collate(batch, pipeline=None):
    """Samples -> one batch, recursively. mmcv: collate, minus DataContainer. Dicts -> dicts,
    tuples and lists -> lists (zipped), the rest -> torch's default_collate (tensors stacked);
    'img_metas' stays a list of dicts, as mmcv's DataContainer(cpu_only=True) leaves it.
    With `pipeline` (a batched dataset's), the samples are raw infos: their arrays are
    stacked ((N, H, W, C) images, (N,) labels) and the pipeline runs once on the whole
    batch. It runs right after the batch's samples were fetched, in the same process, so it
    draws from the generators the batch seed has just seeded."""
    if pipeline is not None:
        return pipeline({key: np.stack([s[key] for s in batch]) for key in batch[0]})
    check_batch(batch)
    if isinstance(batch[0], Mapping):
        return {key: [s[key] for s in batch] if key == 'img_metas'
                else collate([s[key] for s in batch])
                for key in batch[0]}
    if isinstance(batch[0], Sequence) and not isinstance(batch[0], (str, bytes)):
        return [collate(list(samples)) for samples in zip(*batch)]
    if isinstance(batch[0], torch.Tensor):     # the default path: one stack, no checks
        return torch.stack(batch)
    return default_collate(batch)


def worker_init_fn(worker_id, num_workers, rank, seed):
    """Seed each worker of each rank differently, the same way in every run. mmcls: same name."""
    # Ctrl-C, a closed terminal's SIGHUP and a scheduler's SIGTERM (Slurm, systemd, timeout,
    # kill -TERM -<pgid>) reach every process of the job; let the main process handle them
    # (it finishes the iteration and saves), not die under its workers.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGHUP, signal.SIG_IGN)
    main = multiprocessing.parent_process()     # None: called in the main process itself
    if main is not None and hasattr(signal, 'sigwaitinfo'):    # not on macOS: SIGTERM ends it
        signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGTERM})   # this thread and later ones
        threading.Thread(target=end_on_sigterm_from, args=(main.pid,), daemon=True).start()
    worker_seed = num_workers * rank + worker_id + seed
    np.random.seed(worker_seed % 2 ** 32)           # numpy takes seeds below 2**32 only
    random.seed(worker_seed)
    torch.manual_seed(worker_seed)


def end_on_sigterm_from(parent):
    """A worker's SIGTERM watch: from the main process (the loader ending its workers, or the
    exit's terminate()) it ends the worker; from anyone else (a scheduler signalling every
    process of the job) it is the main process's to act on, and the worker goes on."""
    while True:
        if signal.sigwaitinfo({signal.SIGTERM}).si_pid == parent:
            os._exit(0)


def check_dataset_config(cfg):
    """Before any data is read: a non-empty pipeline (the dataset's Compose then names a
    bad transform, also before reading) and num_samples >= 1 or None."""
    check_pipeline(cfg.pipeline)
    if cfg.num_samples is not None and cfg.num_samples < 1:
        raise ConfigError(f'num_samples={cfg.num_samples} must be >= 1')


def check_enough_samples(dataset, world_size):
    """Distributed: every process needs at least one sample."""
    if world_size > len(dataset):
        raise ConfigError(f'{world_size} processes but only {len(dataset)} samples in '
                          f'{type(dataset).__name__}: every process needs at least one')


def check_batch(batch):
    if not isinstance(batch, Sequence):
        raise TypeError(f'collate: a batch is a list of samples, not a {type(batch).__name__}')


# ---- Datasets  (mmcls: datasets/base_dataset.py, datasets/cifar.py) ------------------------

class BaseDataset(Dataset):
    """mmcls: BaseDataset. Subclasses set data_prefix, pipeline, test_mode, batched, data_infos.
    The loader's contract: a BaseDataset takes (index, batch_seed) from DefaultSampler."""
    CLASSES = None

    def __getitem__(self, idx):
        if isinstance(idx, tuple):             # (index, batch_seed) from DefaultSampler
            idx, batch_seed = idx
            if batch_seed is not None:
                random.seed(batch_seed)
                np.random.seed(batch_seed)
        # mmcls deep-copies the info; a shallow copy is enough: no transform writes into it
        info = dict(self.data_infos[idx])
        return info if self.batched else self.pipeline(info)

    def __len__(self):
        return len(self.data_infos)

    def get_gt_labels(self):
        return np.array([info['gt_label'] for info in self.data_infos])

    def evaluate(self, results, metric='accuracy', metric_options=None, indices=None, logger=None):
        """Metrics, in percent, of the scores `results` ((N, C) array or list of them).
        mmcls: BaseDataset.evaluate. metric: 'accuracy' (here) or also 'precision', 'recall',
        'f1_score', 'support' (extras/options/metrics.py). metric_options: topk (int or tuple,
        default (1, 5)); thrs (default 0: a prediction counts only with a score above it; a
        tuple gives one key per threshold); average_mode ('macro' or 'none'). indices: the samples
        `results` belong to. logger is accepted for mmcv's EvalHook and not used."""
        metrics = [metric] if isinstance(metric, str) else list(metric)
        options = {'topk': (1, 5)} if metric_options is None else metric_options
        scores, gt = np.vstack(results), self.get_gt_labels()
        gt = gt if indices is None else gt[indices]
        check_metrics(metrics, len(scores), len(gt))
        thrs = options.get('thrs')
        if (metrics != ['accuracy'] or isinstance(thrs, (tuple, list))
                or options.get('average_mode', 'macro') != 'macro'):
            from extras.options.metrics import evaluate_metrics   # an extra, asked for here
            return evaluate_metrics(scores, gt, metrics, options)
        topk = options.get('topk', (1, 5))
        ks = (topk,) if isinstance(topk, int) else tuple(topk)
        accs = accuracy(torch.from_numpy(scores), torch.from_numpy(gt), ks,
                        0. if thrs is None else thrs)
        accs = [float(a) for a in accs]        # floats, as mmcls's .item()
        if isinstance(topk, int):
            return {'accuracy': accs[0]}
        # mmcls wants a tuple; a list (a config after JSON) gets the same keys here
        return {f'accuracy_top-{k}': acc for k, acc in zip(topk, accs)}

    def __repr__(self):
        return (f'{type(self).__name__} ({"test" if self.test_mode else "train"} split)\n'
                f'    number of samples: {len(self)}\n'
                f'    number of classes: {len(self.CLASSES)}\n'
                f'    data prefix: {self.data_prefix}\n'
                f'    pipeline: {", ".join(map(repr, self.pipeline.transforms))}')


class CIFAR10(BaseDataset):
    """CIFAR-10 from the official python pickle batches in `<data_prefix>/cifar-10-batches-py`."""
    base_folder = 'cifar-10-batches-py'
    url = 'https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz'
    filename = 'cifar-10-python.tar.gz'
    tgz_md5 = 'c58f30108f718f92721af3b95e74349a'
    train_list = [('data_batch_1', 'c99cafc152244af753f735de768cd75f'),
                  ('data_batch_2', 'd4bba439e000b95fd0a9bffe97cbabec'),
                  ('data_batch_3', '54ebc095f3ab1f0389bbae665268c751'),
                  ('data_batch_4', '634d18415352ddfa80567beed471001a'),
                  ('data_batch_5', '482c414d41f54cd18b22e5b47cb7c3cb')]
    test_list = [('test_batch', '40351d587109b95175f43aff81a1287e')]
    meta = dict(filename='batches.meta', key='label_names', md5='5ff9c542aee3614f3951f8cda6e48888')
    CLASSES = ['airplane', 'automobile', 'bird', 'cat', 'deer',
               'dog', 'frog', 'horse', 'ship', 'truck']

    def __init__(self, data_prefix, pipeline, test_mode=False, batched=False):
        self.data_prefix = os.path.expanduser(str(data_prefix))
        self.folder = os.path.join(self.data_prefix, self.base_folder)
        self.batched = batched    # True: items are raw infos; collate runs the pipeline per batch
        self.pipeline = Compose(pipeline, batched=batched, allow_empty=True)  # []: the raw infos
        self.test_mode = test_mode
        self.data_infos = self.load_annotations()

    def expected_md5s(self):
        """{file name: md5} of all the dataset's files: the official checksums."""
        meta = (self.meta['filename'], self.meta['md5'])
        return dict(self.train_list + self.test_list + [meta])

    def how_to_fix(self):
        if self.url is None:                 # your own data (see configs/own_cifar_format.py)
            return f'Put your CIFAR-format files into {self.folder!r}.'
        return (f'Download {self.url} by hand and extract it into {self.data_prefix!r} '
                f'(it unpacks to {self.base_folder}/).')

    def prepare_files(self):
        """Download and extract the archive when a file is missing, as mmcls does."""
        missing = [name for name in self.expected_md5s()
                   if not os.path.isfile(os.path.join(self.folder, name))]
        where = f'{type(self).__name__}: {", ".join(missing)} not found in {self.folder!r}'
        if missing and self.url is None:
            raise DatasetError(f'{where}. {self.how_to_fix()}')
        if missing:
            try:  # imported only here: torchvision's datasets module pulls in much more
                from torchvision.datasets.utils import download_and_extract_archive
                download_and_extract_archive(self.url, self.data_prefix,
                                             filename=self.filename, md5=self.tgz_md5)
            except Exception as e:  # no network, a proxy, a full disk: all end the same way
                raise DatasetError(f'{where}, and downloading failed ({e}). '
                                   f'{self.how_to_fix()}') from e

    def _read(self, name):
        """Unpickle one file of the dataset after checking its md5 (None: no check, as mmcls's
        check_integrity), with a restricted unpickler (read_cifar_pickle; mmcls's
        pickle.load runs any code planted in the file). -> a dict with str keys."""
        path, md5 = os.path.join(self.folder, name), self.expected_md5s().get(name)
        where = f'{type(self).__name__}: {path!r}'
        if not os.path.isfile(path):
            raise DatasetError(f'{where} not found. {self.how_to_fix()}')
        if md5 is not None and file_md5(path) != md5:
            raise DatasetError(f'{where} is corrupt or incomplete: its md5 is not {md5}. '
                               f'{self.how_to_fix()}')
        return read_cifar_pickle(path, where)

    def load_annotations(self):
        rank, world_size = get_dist_info()
        if rank == 0:  # one process downloads; the others wait for it
            self.prepare_files()
        if world_size > 1:
            torch.distributed.barrier()
        files = self.test_list if self.test_mode else self.train_list
        entries = [(name, self._read(name)) for name, _ in files]
        names = self._read(self.meta['filename']).get(self.meta['key'])
        if not isinstance(names, list) or not names:
            meta_path = os.path.join(self.folder, self.meta['filename'])
            raise DatasetError(f'{type(self).__name__}: {meta_path!r} '
                               f"has no list '{self.meta['key']}' of class names")
        self.CLASSES = [n.decode('latin1') if isinstance(n, bytes) else n for n in names]
        imgs, labels = [], []
        for name, entry in entries:      # checked: (N, 3072) uint8 rows, N labels in range
            rows, batch_labels = check_cifar_batch(self, name, entry, len(self.CLASSES))
            imgs.append(rows)  # uint8 (N, 3072): each row the red plane, then green, then blue
            labels.extend(batch_labels.tolist())
        imgs = np.vstack(imgs).reshape(-1, 3, 32, 32).transpose(0, 2, 3, 1)   # to HWC
        imgs = np.ascontiguousarray(imgs)
        return [{'img': img, 'gt_label': np.array(label, dtype=np.int64)}
                for img, label in zip(imgs, labels)]


class CIFAR100(CIFAR10):
    """CIFAR-100 with its 100 fine labels, from `<data_prefix>/cifar-100-python`."""
    base_folder = 'cifar-100-python'
    url = 'https://www.cs.toronto.edu/~kriz/cifar-100-python.tar.gz'
    filename = 'cifar-100-python.tar.gz'
    tgz_md5 = 'eb9058c3a382ffc7106e4002c42a8d85'
    train_list = [('train', '16019d7e3df5f24257cddd939b257f8d')]
    test_list = [('test', 'f0ef6b0ae62326f3e7ffdfab6717acfc')]
    meta = dict(filename='meta', key='fine_label_names', md5='7973b15100ade9c7d40fb424638fde48')
    CLASSES = ('apple aquarium_fish baby bear beaver bed bee beetle bicycle bottle bowl '
               'boy bridge bus butterfly camel can castle caterpillar cattle chair '
               'chimpanzee clock cloud cockroach couch crab crocodile cup dinosaur '
               'dolphin elephant flatfish forest fox girl hamster house kangaroo '
               'keyboard lamp lawn_mower leopard lion lizard lobster man maple_tree '
               'motorcycle mountain mouse mushroom oak_tree orange orchid otter '
               'palm_tree pear pickup_truck pine_tree plain plate poppy porcupine possum '
               'rabbit raccoon ray road rocket rose sea seal shark shrew skunk '
               'skyscraper snail snake spider squirrel streetcar sunflower sweet_pepper '
               'table tank telephone television tiger tractor train trout tulip turtle '
               'wardrobe whale willow_tree wolf woman worm').split()


# CIFAR's pickle files are untrusted input (mmcls: `pickle.load` and nothing else, which runs
# any code planted in the file, and takes whatever the file holds): read and checked here.

def file_md5(path):
    """The file's md5, as mmcls's check_integrity computes it."""
    digest = hashlib.md5()
    with open(path, 'rb') as f:
        for chunk in iter(lambda: f.read(1 << 20), b''):
            digest.update(chunk)
    return digest.hexdigest()


def read_cifar_pickle(path, where):
    """The dict a CIFAR file holds, with str keys; `where` names it in a DatasetError."""
    try:
        with open(path, 'rb') as f:
            # Python 2 pickles: str keys read as str
            entry = _CifarUnpickler(f, encoding='latin1').load()
    except Exception as e:  # refused, truncated, not a pickle
        raise DatasetError(f'{where} is not a CIFAR pickle: {e}') from None
    if not isinstance(entry, dict):
        raise DatasetError(f'{where} holds a {type(entry).__name__}, not a dict')
    # re-saved from Python 3 with CIFAR's own recipe (encoding='bytes'), the keys are bytes
    return {k.decode('latin1') if isinstance(k, bytes) else k: v for k, v in entry.items()}


class _CifarUnpickler(pickle.Unpickler):
    """Unpickles what CIFAR files hold and nothing else: dicts, lists, str/bytes/numbers/None/
    bool (no global needed) and numpy arrays. Any other global (a class, a function such
    as os.system in a planted __reduce__) is refused before it is looked up, so no code
    from the file runs. (mmcls calls pickle.load, which runs it.)"""
    ALLOWED = {
        # what numpy 1 (and Python 2) wrote, and what numpy 2 writes
        ('numpy.core.multiarray', '_reconstruct'): _reconstruct,
        ('numpy._core.multiarray', '_reconstruct'): _reconstruct,
        ('numpy', 'ndarray'): np.ndarray,
        ('numpy', 'dtype'): np.dtype,
        # bytes (an array's buffer) in a protocol-2 pickle written by Python 3
        ('_codecs', 'encode'): lambda text, encoding: text.encode('latin1'),
        ('builtins', 'bytes'): lambda: b'',
        ('__builtin__', 'bytes'): lambda: b''}

    def find_class(self, module, name):
        if (module, name) not in self.ALLOWED:
            raise pickle.UnpicklingError(
                f'it holds {module}.{name}, which a CIFAR file never holds')
        return self.ALLOWED[module, name]


def check_cifar_batch(dataset, name, entry, num_classes):
    """(N, 3072) uint8 rows and N labels in 0..num_classes-1, or a DatasetError naming
    the file. -> (rows, labels as int64)."""
    where = f'{type(dataset).__name__}: {os.path.join(dataset.folder, name)!r}'
    rows = entry.get('data')
    labels = entry.get('labels', entry.get('fine_labels'))   # CIFAR-10 | CIFAR-100
    if rows is None or not isinstance(labels, (list, np.ndarray)):
        raise DatasetError(f"{where} has no 'data' and 'labels' (or 'fine_labels'); "
                           f'its keys: {", ".join(map(str, entry))}')
    if not (isinstance(rows, np.ndarray) and rows.dtype == np.uint8
            and rows.shape[1:] == (3072,)):
        raise DatasetError(f"{where}: 'data' must be uint8 rows of 3072 values "
                           f'(3 x 32 x 32), got {type(rows).__name__} '
                           f'{getattr(rows, "dtype", "")} {getattr(rows, "shape", "")}')
    if len(labels) != len(rows):
        raise DatasetError(f'{where}: {len(rows)} images but {len(labels)} labels')
    labels = np.array(labels, dtype=object if isinstance(labels, list) else None)
    if not all(isinstance(x, (int, np.integer)) and not isinstance(x, bool)
               for x in labels.tolist()):
        raise DatasetError(f'{where}: labels must be ints, e.g. {labels[:1].tolist()}')
    labels = labels.astype(np.int64)
    bad = np.flatnonzero((labels < 0) | (labels >= num_classes))
    if len(bad):
        raise DatasetError(f'{where}: label {labels[bad[0]]} at index {bad[0]} '
                           f'is out of range 0..{num_classes - 1}')
    return rows, labels



# data.<split>.type -> the dataset class, or 'module:Class' of an extra (imported when
# asked for) or of your own code (e.g. a CIFAR10 subclass defined in a config file)
DATASETS = {'CIFAR10': CIFAR10, 'CIFAR100': CIFAR100,
            'SyntheticCIFAR10': 'extras.demos.demo_data:SyntheticCIFAR10',
            'DemoFolder': 'extras.demos.demo_folder:DemoFolder',      # the folder demo's
            **{name: f'extras.images.image_folder:{name}'
               for name in ('CustomDataset', 'ImageNet')}}


def check_metrics(metrics, num_results, num_images):
    """The names evaluate knows (config.py's METRICS), for callers that skip the config;
    one result per image."""
    for name in metrics:
        if name not in METRICS:
            raise ConfigError(f'metric {name!r} is not supported; valid: {", ".join(METRICS)}')
    if num_results != num_images:
        raise ValueError(f'{num_results} results for {num_images} images')


# ---- Transforms  (mmcls: datasets/pipelines/transforms.py, formatting.py, compose.py) ------
# Like mmcls's, they draw from `random` (RandomCrop) and `np.random` (RandomFlip), seeded
# per batch by DefaultSampler (above).

class Compose:
    """Chain transforms, given as callables or as dicts: dict(type='RandomCrop', size=32).
    mmcls: Compose. With `batched`, the same names build extras/options/batched_transforms.py's."""

    def __init__(self, transforms, batched=False, allow_empty=False):
        check_pipeline(transforms, allow_empty)
        table = BATCH_PIPELINES if batched else PIPELINES
        self.transforms = [t if callable(t) else self._build(t, table) for t in transforms]

    @staticmethod
    def _build(cfg, table):
        args = dict(cfg)
        name = args.pop('type', None)
        transform = lookup(table, name, 'pipeline transform type', base=object)  # or 'module:Class'
        check_transform_args(name, inspect.signature(transform), args)   # here, not in __init__
        return transform(**args)

    def __call__(self, results):
        for t in self.transforms:
            results = t(results)
        return results

    def __repr__(self):
        return 'Compose(\n' + ''.join(f'    {t}\n' for t in self.transforms) + ')'


class RandomCrop:
    """Pad, then crop a `size` window at a random place. mmcls: RandomCrop.
    padding: int, (left/right, top/bottom) or (left, top, right, bottom), filled with pad_val;
    pad_if_needed pads a too small image on both sides. Here padding_mode ('constant', 'edge',
    'reflect', 'symmetric') applies to all padding; mmcls applies it to pad_if_needed's only."""

    def __init__(self, size, padding=None, pad_if_needed=False, pad_val=0, padding_mode='constant'):
        check_random_crop(padding, padding_mode)
        self.size = tuple(size) if isinstance(size, (tuple, list)) else (size, size)
        self.padding, self.pad_if_needed, self.pad_val = padding, pad_if_needed, pad_val
        self.padding_mode = padding_mode
        pad = padding or 0  # as (left, top, right, bottom):
        self._pad = (pad,) * 4 if isinstance(pad, int) else tuple(pad) * (4 // len(pad))

    def __call__(self, results):
        img, (th, tw) = results['img'], self.size
        left, top, right, bottom = self._pad
        if self.pad_if_needed:
            extra_h = max(th - img.shape[0] - top - bottom, 0)
            extra_w = max(tw - img.shape[1] - left - right, 0)
            left, right = left + extra_w, right + extra_w
            top, bottom = top + extra_h, bottom + extra_h
        h, w = img.shape[0] + top + bottom, img.shape[1] + left + right  # the padded size
        check_crop_fits(h, w, self.size)
        # `random`, as mmcls's RandomCrop
        ymin = random.randint(0, h - th) if (h, w) != (th, tw) else 0
        xmin = random.randint(0, w - tw) if (h, w) != (th, tw) else 0
        if self.padding_mode != 'constant':
            pad = ((top, bottom), (left, right)) + ((0, 0),) * (img.ndim - 2)
            padded = np.pad(img, pad, self.padding_mode)
            results['img'] = padded[ymin:ymin + th, xmin:xmin + tw]
            return results
        # Fill the window with pad_val and copy in the part of the image that falls inside it:
        # the same pixels as padding the whole image, with no padded copy made.
        out = np.full((th, tw) + img.shape[2:], self.pad_val, img.dtype)
        y0, y1 = max(ymin, top), min(ymin + th, top + img.shape[0])
        x0, x1 = max(xmin, left), min(xmin + tw, left + img.shape[1])
        if y1 > y0 and x1 > x0:
            out[y0 - ymin:y1 - ymin, x0 - xmin:x1 - xmin] = \
                img[y0 - top:y1 - top, x0 - left:x1 - left]
        results['img'] = out
        return results

    def __repr__(self):
        return f'RandomCrop(size={self.size}, padding={self.padding})'


class RandomFlip:
    """With probability flip_prob, flip every image of results['img_fields'] (default
    ['img']), 'horizontal' or 'vertical'. mmcls: RandomFlip."""

    def __init__(self, flip_prob=0.5, direction='horizontal'):
        check_random_flip(flip_prob, direction)
        self.flip_prob, self.direction = flip_prob, direction

    def __call__(self, results):
        results['flip'] = bool(np.random.rand() < self.flip_prob)
        results['flip_direction'] = self.direction
        if results['flip']:  # views, no copies: Normalize or ImageToTensor copies anyway
            for key in results.get('img_fields', ['img']):
                img = results[key]
                results[key] = img[:, ::-1] if self.direction == 'horizontal' else img[::-1]
        return results

    def __repr__(self):
        return f'RandomFlip(flip_prob={self.flip_prob}, direction={self.direction!r})'


class Normalize:
    """(img - mean) / std, float32, for every image of results['img_fields'] (default ['img']);
    to_rgb reverses the channels first. mmcls: Normalize (mmcv.imnormalize)."""

    def __init__(self, mean, std, to_rgb=True):
        self.mean = np.array(mean, np.float32)
        self.std = np.array(std, np.float32)
        self.to_rgb = to_rgb
        check_normalize(self.mean, self.std)
        self._img_norm_cfg = dict(mean=self.mean, std=self.std, to_rgb=to_rgb)
        self._full = (None, None, None)  # (image shape, mean and std expanded to it)

    def __call__(self, results):
        for key in results.get('img_fields', ['img']):
            img = results[key][..., ::-1] if self.to_rgb else results[key]
            if self._full[0] != img.shape:
                # numpy is slow to broadcast 3 values over an HWC image (its inner loop is 3
                # long), so mean and std are expanded to the image's shape, once per shape.
                self._full = (img.shape, np.broadcast_to(self.mean, img.shape).copy(),
                              np.broadcast_to(self.std, img.shape).copy())
            out = img.astype(np.float32)  # a new array
            out -= self._full[1]
            # A float32 division: bit for bit mmcv.imnormalize with opencv <= 5.0, which
            # multiplies by 1 / std in float64 and rounds once. opencv 5.1's multiplies by a
            # float32 1 / std, 1 ulp off on many values (extras/bridge/mmcls_streams.py:
            # MmcvNormalize).
            out /= self._full[2]
            results[key] = out
        results['img_norm_cfg'] = self._img_norm_cfg
        return results

    def __repr__(self):
        mean = np.round(self.mean.astype(float), 4).tolist()
        std = np.round(self.std.astype(float), 4).tolist()
        return f'Normalize(mean={mean}, std={std}, to_rgb={self.to_rgb})'


def to_tensor(data):
    """A tensor from a tensor, array (sharing memory), list, int or float. mmcls: to_tensor."""
    if isinstance(data, torch.Tensor):
        return data
    if isinstance(data, np.ndarray):
        return torch.from_numpy(data)
    if isinstance(data, (list, tuple)):
        return torch.tensor(data)
    if isinstance(data, int):
        return torch.LongTensor([data])
    if isinstance(data, float):
        return torch.FloatTensor([data])
    raise TypeError(f'{type(data).__name__} cannot be converted to a tensor')


class ToTensor:
    """mmcls: ToTensor."""

    def __init__(self, keys):
        self.keys = keys

    def __call__(self, results):
        for key in self.keys:
            results[key] = to_tensor(results[key])
        return results

    def __repr__(self):
        return f'{type(self).__name__}(keys={self.keys})'


class ImageToTensor(ToTensor):
    """HWC array -> contiguous CHW tensor (a flipped view cannot be shared). mmcls: same name."""

    def __call__(self, results):
        for key in self.keys:
            img = results[key] if results[key].ndim == 3 else results[key][..., None]
            results[key] = torch.from_numpy(np.ascontiguousarray(img.transpose(2, 0, 1)))
        return results


class Collect:
    """Keep only `keys`. mmcls: Collect. mmcls also gathers `meta_keys` (file name, flip,
    img_norm_cfg, ...) into 'img_metas', an mmcv DataContainer that collate leaves alone. The
    classifier never reads them, so the default here gathers none; meta_keys that are given
    go into a plain dict 'img_metas'."""

    def __init__(self, keys, meta_keys=()):
        self.keys, self.meta_keys = keys, meta_keys

    def __call__(self, results):
        data = {key: results[key] for key in self.keys}
        if self.meta_keys:
            data['img_metas'] = {key: results[key] for key in self.meta_keys if key in results}
        return data

    def __repr__(self):
        return f'Collect(keys={self.keys}, meta_keys={self.meta_keys})'


PIPELINES = {t.__name__: t for t in (RandomCrop, RandomFlip, Normalize, ImageToTensor,
                                     ToTensor, Collect)}
PIPELINES.update({name: f'extras.images.image_pipeline:{name}' for name in (   # image files
    'LoadImageFromFile', 'RandomResizedCrop', 'Resize', 'CenterCrop')})
# with data.<split>.batched=True: the same names, each transform run once on a whole batch
# (extras/options/batched_transforms.py; ToTensor and Collect work on a batch as they are)
BATCH_PIPELINES = {'ToTensor': ToTensor, 'Collect': Collect,
                   **{name: f'extras.options.batched_transforms:Batch{name}' for name in (
                       'RandomCrop', 'RandomFlip', 'Normalize', 'ImageToTensor')}}


def check_pipeline(transforms, allow_empty=False):
    """A list of transforms, each a callable or a dict(type=..., ...); empty if allowed."""
    if not isinstance(transforms, (list, tuple)) or not (transforms or allow_empty):
        raise ConfigError(f'pipeline={transforms!r} must be a non-empty list of '
                          'dict(type=<transform>, ...)')
    for i, t in enumerate(transforms):
        if not (callable(t) or isinstance(t, dict)):
            example = t if isinstance(t, str) else '<name>'
            raise ConfigError(f'pipeline item {i} ({t!r}) is not a transform: '
                              f"write dict(type='{example}', ...)")


def check_transform_args(name, signature, args):
    """The transform takes every argument given, and every one it needs is given."""
    unknown = [arg for arg in args if arg not in signature.parameters]
    missing = [p.name for p in signature.parameters.values()
               if p.default is p.empty and p.name not in args]
    if unknown or missing:
        raise ConfigError(f'pipeline transform {name}: unknown arguments {unknown}, '
                          f'missing arguments {missing}; it takes {signature}')


def check_random_crop(padding, padding_mode):
    if padding_mode not in ('constant', 'edge', 'reflect', 'symmetric'):
        raise ConfigError(f'RandomCrop: padding_mode {padding_mode!r} is not one of '
                          'constant, edge, reflect, symmetric')
    if not (padding is None or isinstance(padding, int) or len(padding) in (1, 2, 4)):
        raise ConfigError(f'RandomCrop: padding {padding!r} is not an int, nor 2 or 4 of them')


def check_crop_fits(h, w, size):
    if h < size[0] or w < size[1]:
        raise ConfigError(f'RandomCrop: the padded image ({h}x{w}) is smaller than size {size}')


def check_random_flip(flip_prob, direction):
    if not 0 <= flip_prob <= 1:
        raise ConfigError(f'RandomFlip: flip_prob {flip_prob} is not in [0, 1]')
    if direction not in ('horizontal', 'vertical'):
        raise ConfigError(f"RandomFlip: direction {direction!r} is not 'horizontal' or 'vertical'")


def check_normalize(mean, std):
    for name, value in (('mean', mean), ('std', std)):
        if value.shape not in ((1,), (3,)):
            raise ConfigError(f'Normalize: {name}={value.tolist()} must have 3 values '
                              '(one per channel) or 1')
    if not (std > 0).all():
        raise ConfigError(f'Normalize: std={std.tolist()} must be > 0 (it divides the image)')
