"""Data: the CIFAR datasets, the pipeline transforms, build_dataset and build_dataloader.

    from config import cfg
    dataset = build_dataset(cfg.data.train)     # CIFAR10: 50000 dicts {'img': HWC uint8, 'gt_label'}
    loader = build_dataloader(dataset, cfg.data.samples_per_gpu, cfg.data.workers_per_gpu, seed=0)
    batch = next(iter(loader))                  # {'img': float32 (128, 3, 32, 32), 'gt_label': int64 (128,)}
    dataset.evaluate(scores)                    # (N, 10) scores -> {'accuracy_top-1': .., ...}

An item is the pipeline's output for one image: the transforms run one after the other on a
results dict, as in mmcls. `SyntheticCIFAR10`, the demo's dataset, writes a small learnable
dataset in CIFAR-10's own file format the first time, then reads it with CIFAR10's reader.
"""
import hashlib
import os
import pickle
import random
import signal
from functools import partial

import numpy as np
import torch
from torch.utils.data import DataLoader, Dataset
from torchvision.datasets.utils import download_and_extract_archive

import demo_data
from transforms import Compose


class DatasetError(RuntimeError):
    """A dataset file is missing, cannot be downloaded, or is corrupt."""


def get_dist_info():
    """(rank, world_size); (0, 1) when not distributed. mmcv: get_dist_info."""
    if torch.distributed.is_available() and torch.distributed.is_initialized():
        return torch.distributed.get_rank(), torch.distributed.get_world_size()
    return 0, 1


def _md5(path):
    digest = hashlib.md5()
    with open(path, 'rb') as f:
        for chunk in iter(lambda: f.read(1 << 20), b''):
            digest.update(chunk)
    return digest.hexdigest()


# ---- Datasets  (mmcls: datasets/cifar.py, datasets/base_dataset.py) ------------------------

class CIFAR10(Dataset):
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
    CLASSES = ['airplane', 'automobile', 'bird', 'cat', 'deer', 'dog', 'frog', 'horse', 'ship', 'truck']

    def __init__(self, data_prefix, pipeline, test_mode=False, batched=False):
        self.data_prefix = os.path.expanduser(str(data_prefix))
        self.folder = os.path.join(self.data_prefix, self.base_folder)
        # batched: items are the raw infos; the loader's collate runs the pipeline once per batch
        self.batched = batched
        self.pipeline = Compose(pipeline, batched=batched)
        self.test_mode = test_mode
        self.data_infos = self.load_annotations()

    def expected_md5s(self):
        """{file name: md5} of all the dataset's files: the official checksums."""
        return dict(self.train_list + self.test_list + [(self.meta['filename'], self.meta['md5'])])

    def how_to_fix(self):
        return (f'Download {self.url} by hand and extract it into {self.data_prefix!r} '
                f'(it unpacks to {self.base_folder}/).')

    def prepare_files(self):
        """Download and extract the archive when a file is missing, as mmcls does."""
        missing = [name for name in self.expected_md5s()
                   if not os.path.isfile(os.path.join(self.folder, name))]
        if missing:
            try:
                download_and_extract_archive(self.url, self.data_prefix, filename=self.filename,
                                             md5=self.tgz_md5)
            except Exception as e:  # no network, a proxy, a full disk: all end the same way
                raise DatasetError(f'{type(self).__name__}: {", ".join(missing)} not found in {self.folder!r}, '
                                   f'and downloading failed ({e}). {self.how_to_fix()}') from e

    def _read(self, name):
        """Unpickle one file of the dataset after checking its md5."""
        path, md5 = os.path.join(self.folder, name), self.expected_md5s().get(name)
        if not os.path.isfile(path):
            raise DatasetError(f'{type(self).__name__}: {path!r} not found. {self.how_to_fix()}')
        if _md5(path) != md5:
            raise DatasetError(f'{type(self).__name__}: {path!r} is corrupt or incomplete: its md5 is not '
                               f'{md5}. {self.how_to_fix()}')
        try:
            with open(path, 'rb') as f:
                return pickle.load(f, encoding='latin1')  # Python 2 pickles: its str keys read as str
        except Exception as e:  # the md5 matched, so the expected md5 itself is wrong
            raise DatasetError(f'{type(self).__name__}: {path!r} is not a pickle ({e}).') from e

    def load_annotations(self):
        rank, world_size = get_dist_info()
        if rank == 0:  # one process downloads; the others wait for it
            self.prepare_files()
        if world_size > 1:
            torch.distributed.barrier()
        imgs, labels = [], []
        for name, _ in (self.test_list if self.test_mode else self.train_list):
            entry = self._read(name)
            imgs.append(entry['data'])  # uint8 (N, 3072): each row the red plane, then green, then blue
            labels.extend(entry['labels'] if 'labels' in entry else entry['fine_labels'])  # CIFAR-100
        self.CLASSES = self._read(self.meta['filename'])[self.meta['key']]
        imgs = np.ascontiguousarray(np.vstack(imgs).reshape(-1, 3, 32, 32).transpose(0, 2, 3, 1))  # to HWC
        return [{'img': img, 'gt_label': np.array(label, dtype=np.int64)} for img, label in zip(imgs, labels)]

    def __len__(self):
        return len(self.data_infos)

    def __getitem__(self, idx):
        if isinstance(idx, tuple):             # (index, batch_seed) from DefaultSampler
            idx, batch_seed = idx
            if batch_seed is not None:
                random.seed(batch_seed)
                np.random.seed(batch_seed)
        # mmcls deep-copies the info; a shallow copy is enough, as no transform here writes into its input.
        return dict(self.data_infos[idx]) if self.batched else self.pipeline(dict(self.data_infos[idx]))

    def get_gt_labels(self):
        return np.array([info['gt_label'] for info in self.data_infos])

    def evaluate(self, results, metric='accuracy', metric_options=None):
        """Metrics, in percent, of the scores `results` ((N, C) array or list of them). mmcls: BaseDataset.

        metric_options: topk (int or sequence, default (1, 5)); thrs (default 0: as in mmcls, a
        prediction counts only with a score above it, which softmax scores always have);
        average_mode ('macro' only) for precision, recall and f1_score.
        """
        metrics = [metric] if isinstance(metric, str) else list(metric)
        for name in metrics:
            if name not in ('accuracy', 'precision', 'recall', 'f1_score'):
                raise ValueError(f'metric {name!r} is not supported; '
                                 'valid: accuracy, precision, recall, f1_score')
        options = {'topk': (1, 5)} if metric_options is None else metric_options
        if options.get('average_mode', 'macro') != 'macro':
            raise ValueError(f"average_mode {options['average_mode']!r} is not supported; valid: 'macro'")
        scores, gt, thr = np.vstack(results), self.get_gt_labels(), options.get('thrs', 0.)
        assert len(scores) == len(gt), f'{len(scores)} results for {len(gt)} images'
        eval_results = {}
        if 'accuracy' in metrics:
            topk = options.get('topk', (1, 5))
            ks = (topk,) if isinstance(topk, int) else tuple(topk)
            order = np.argsort(-scores, axis=1, kind='stable')[:, :max(ks)]  # best class first
            hits = (order == gt[:, None]) & (np.take_along_axis(scores, order, 1) > thr)
            accs = [hits[:, :k].any(1).sum().item() * 100. / len(gt) for k in ks]
            if isinstance(topk, int):
                eval_results['accuracy'] = accs[0]
            else:  # mmcls wants a tuple; a list (a config after JSON) gets the same keys here
                eval_results.update({f'accuracy_top-{k}': acc for k, acc in zip(ks, accs)})
        if {'precision', 'recall', 'f1_score'} & set(metrics):
            num_classes, pred, counted = scores.shape[1], scores.argmax(1), scores.max(1) > thr
            correct = np.bincount(gt[counted & (pred == gt)], minlength=num_classes)
            precision = correct / np.maximum(np.bincount(pred[counted], minlength=num_classes), 1) * 100
            recall = correct / np.maximum(np.bincount(gt, minlength=num_classes), 1) * 100
            f1_score = 2 * precision * recall / np.maximum(precision + recall, np.finfo(np.float32).eps)
            for name, per_class in (('precision', precision), ('recall', recall), ('f1_score', f1_score)):
                if name in metrics:
                    eval_results[name] = float(per_class.mean())
        return eval_results

    def __repr__(self):
        return (f'{type(self).__name__} ({"test" if self.test_mode else "train"} split)\n'
                f'    number of samples: {len(self)}\n    number of classes: {len(self.CLASSES)}\n'
                f'    data prefix: {self.data_prefix}\n'
                f'    pipeline: {", ".join(map(repr, self.pipeline.transforms))}')


class CIFAR100(CIFAR10):
    """CIFAR-100 with its 100 fine labels, from `<data_prefix>/cifar-100-python`."""
    base_folder = 'cifar-100-python'
    url = 'https://www.cs.toronto.edu/~kriz/cifar-100-python.tar.gz'
    filename = 'cifar-100-python.tar.gz'
    tgz_md5 = 'eb9058c3a382ffc7106e4002c42a8d85'
    train_list = [('train', '16019d7e3df5f24257cddd939b257f8d')]
    test_list = [('test', 'f0ef6b0ae62326f3e7ffdfab6717acfc')]
    meta = dict(filename='meta', key='fine_label_names', md5='7973b15100ade9c7d40fb424638fde48')
    CLASSES = ('apple aquarium_fish baby bear beaver bed bee beetle bicycle bottle bowl boy bridge bus '
               'butterfly camel can castle caterpillar cattle chair chimpanzee clock cloud cockroach '
               'couch crab crocodile cup dinosaur dolphin elephant flatfish forest fox girl hamster house '
               'kangaroo keyboard lamp lawn_mower leopard lion lizard lobster man maple_tree motorcycle '
               'mountain mouse mushroom oak_tree orange orchid otter palm_tree pear pickup_truck pine_tree '
               'plain plate poppy porcupine possum rabbit raccoon ray road rocket rose sea seal shark shrew '
               'skunk skyscraper snail snake spider squirrel streetcar sunflower sweet_pepper table tank '
               'telephone television tiger tractor train trout tulip turtle wardrobe whale willow_tree '
               'wolf woman worm').split()


# ---- The demo's dataset: CIFAR-10's file format, written on first use ---------------------

class SyntheticCIFAR10(CIFAR10):
    """A learnable CIFAR-10 look-alike that needs no download: the demo's dataset.

    When absent, it writes `<data_prefix>/cifar-10-batches-py` in the real format (see
    demo_data.py), with an `md5sums.txt` whose sums stand in for the official ones. Then
    CIFAR10's reader reads it.
    Its size is set by the class attributes (e.g. `SyntheticCIFAR10.num_train_batches = 2`);
    files written with other settings are written again.
    """
    num_train_batches = 5  # of batch_size images: 5000 training images
    batch_size = 1000
    num_test = 1000
    seed = 0
    CLASSES = demo_data.CLASSES
    test_list = [('test_batch', None)]
    meta = dict(filename='batches.meta', key='label_names', md5=None)

    @property
    def train_list(self):
        return [(f'data_batch_{i}', None) for i in range(1, self.num_train_batches + 1)]

    def _header(self):  # first line of md5sums.txt: the settings the files were written with
        return (f'# {type(self).__name__} generator=1 seed={self.seed} num_train_batches='
                f'{self.num_train_batches} batch_size={self.batch_size} num_test={self.num_test}\n')

    def expected_md5s(self):
        with open(os.path.join(self.folder, 'md5sums.txt')) as f:
            return {name: md5 for md5, name in (line.split() for line in f if not line.startswith('#'))}

    def how_to_fix(self):
        return f'Delete {self.folder!r}; the next run writes it again.'

    def prepare_files(self):
        sums_path = os.path.join(self.folder, 'md5sums.txt')
        if os.path.isfile(sums_path):
            with open(sums_path) as f:
                if f.readline() == self._header():
                    return
        demo_data.write_batches(self.folder, self.seed, self.num_train_batches, self.batch_size,
                                self.num_test, self._header())


# ---- Builders  (mmcls: datasets/builder.py, samplers/distributed_sampler.py; mmcv: collate) --

DATASETS = {'CIFAR10': CIFAR10, 'CIFAR100': CIFAR100, 'SyntheticCIFAR10': SyntheticCIFAR10}


def build_dataset(cfg):
    """A dataset from a DatasetConfig (type, data_prefix, pipeline, test_mode)."""
    if cfg.type not in DATASETS:
        raise ValueError(f'dataset type {cfg.type!r} is unknown; valid: {", ".join(DATASETS)}')
    dataset = DATASETS[cfg.type](data_prefix=cfg.data_prefix, pipeline=cfg.pipeline, test_mode=cfg.test_mode,
                                 batched=cfg.batched)
    if cfg.num_samples is not None:
        if cfg.num_samples < 1:
            raise ValueError(f'num_samples={cfg.num_samples} must be >= 1')
        dataset.data_infos = dataset.data_infos[:cfg.num_samples]
    return dataset


def collate(batch, pipeline=None):
    """Samples -> one batch: tensors stacked, anything else listed. mmcv: collate, minus DataContainer.

    With `pipeline` (a batched dataset's), the samples are raw infos: their arrays are stacked
    ((N, H, W, C) images, (N,) labels) and the pipeline runs once on the whole batch. It runs
    right after the batch's samples were fetched, in the same process, so it draws from the
    generators the batch seed has just seeded."""
    if pipeline is not None:
        return pipeline({key: np.stack([s[key] for s in batch]) for key in batch[0]})
    return {key: torch.stack([s[key] for s in batch]) if isinstance(batch[0][key], torch.Tensor)
            else [s[key] for s in batch] for key in batch[0]}


def worker_init_fn(worker_id, num_workers, rank, seed):
    """Seed each worker of each rank differently, and the same way in every run. mmcls: same name."""
    # Ctrl-C reaches every process of the terminal; let the main process handle it
    # (it finishes the iteration and saves), instead of workers dying under it.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    worker_seed = num_workers * rank + worker_id + seed
    np.random.seed(worker_seed)
    random.seed(worker_seed)
    torch.manual_seed(worker_seed)


class DefaultSampler(torch.utils.data.Sampler):
    """Which samples, in which order, and the seed of every batch (mmengine: DefaultSampler;
    mmcls: DistributedSampler).

    The order of epoch e is a permutation from a generator seeded with `seed + e`, the same
    on every rank, so it does not depend on what ran before; `set_epoch` (called by the
    DistSamplerSeedHook) picks e. Each rank takes every num_replicas-th index; `round_up`
    repeats the first ones so that every rank gets as many. Each element is
    `(index, batch_seed)`: the first sample of each batch carries a seed from the same
    generator (None for the others), with which the dataset seeds `random` and `np.random`
    before its transforms. A batch's augmentation is then a function of (seed, epoch,
    batch), whichever worker makes it: a resumed run sees the same batches, to the bit.
    """

    def __init__(self, dataset_len, batch_size, shuffle=True, seed=0, num_replicas=1, rank=0, round_up=True,
                 batch_seeds=True):
        self.n, self.batch_size, self.shuffle, self.seed = dataset_len, batch_size, shuffle, seed
        self.batch_seeds = batch_seeds         # False: plain indices, for datasets that take only ints
        self.num_replicas, self.rank, self.round_up = num_replicas, rank, round_up
        self.num_samples = (-(-dataset_len // num_replicas) if round_up
                            else len(range(rank, dataset_len, num_replicas)))
        self.epoch = 0
        self.skip_batches = 0                  # set by a mid-epoch resume, for one epoch

    def set_epoch(self, epoch):
        self.epoch = epoch

    def __iter__(self):
        g = torch.Generator().manual_seed(self.seed + self.epoch)
        order = torch.randperm(self.n, generator=g).tolist() if self.shuffle else list(range(self.n))
        if self.round_up:                      # pad to num_samples per rank, as mmcls does
            total = self.num_samples * self.num_replicas
            order = (order * (total // max(self.n, 1) + 1))[:total]
        mine = order[self.rank::self.num_replicas][:self.num_samples]
        num_batches = -(-len(mine) // self.batch_size)
        seeds = torch.randint(0, 2 ** 31, (self.num_replicas, num_batches), generator=g)[self.rank].tolist()
        start, self.skip_batches = self.skip_batches * self.batch_size, 0
        for pos in range(start, len(mine)):
            if self.batch_seeds:
                yield mine[pos], (seeds[pos // self.batch_size] if pos % self.batch_size == 0 else None)
            else:
                yield mine[pos]

    def __len__(self):
        return self.num_samples


def build_dataloader(dataset, samples_per_gpu, workers_per_gpu, num_gpus=1, dist=False, shuffle=True,
                     round_up=True, seed=None, **kwargs):
    """A DataLoader, mmcls's way: not distributed, one loader feeds all num_gpus; distributed, each
    process loads its own share. kwargs go to the DataLoader. mmcls: build_dataloader."""
    rank, world_size = get_dist_info()
    if dist and world_size > len(dataset):
        raise ValueError(f'{world_size} processes but only {len(dataset)} samples in {type(dataset).__name__}: '
                         'every process needs at least one')
    if not dist:  # one loader feeds all num_gpus
        rank, world_size = 0, 1
        samples_per_gpu, workers_per_gpu = num_gpus * samples_per_gpu, num_gpus * workers_per_gpu
    batch_size, num_workers = samples_per_gpu, workers_per_gpu
    # Batch seeds go to this file's datasets (CIFAR10 and its subclasses take (index, seed)).
    sampler = DefaultSampler(len(dataset), batch_size, shuffle, seed or 0, world_size, rank, round_up,
                             batch_seeds=isinstance(dataset, CIFAR10))
    init_fn = partial(worker_init_fn, num_workers=num_workers, rank=rank, seed=seed or 0)
    # The loader draws its workers' base seed from this generator, not from torch's global one.
    kwargs.setdefault('generator', torch.Generator().manual_seed(seed or 0))
    if num_workers > 0:
        # mmcls's default: workers live across epochs (no start-up cost each epoch). The
        # batch seeds above make the augmentation independent of the workers' own streams.
        kwargs.setdefault('persistent_workers', True)
    return DataLoader(dataset, batch_size=batch_size, sampler=sampler, num_workers=num_workers,
                      collate_fn=partial(collate, pipeline=dataset.pipeline) if getattr(dataset, 'batched', False)
                      else collate, worker_init_fn=init_fn, **kwargs)
