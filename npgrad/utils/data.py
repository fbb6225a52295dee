"""``npgrad.utils.data``: torch's path to ``npgrad.data`` (the same objects: ``npgrad.utils.data.DataLoader is
npgrad.data.DataLoader``), so that ``from torch.utils.data import DataLoader, TensorDataset, random_split``
ports as ``from npgrad.utils.data import ...``. torch's DataPipe names (``IterDataPipe``, ``MapDataPipe``,
``DataChunk``, ``functional_datapipe``..., deprecated in torch) are not provided."""
from ..data import (BatchSampler, ChainDataset, ConcatDataset, DataLoader, Dataset, DistributedSampler,  # noqa: F401
                    IterableDataset, RandomSampler, Sampler, SequentialSampler, StackDataset, Subset,
                    SubsetRandomSampler, TensorDataset, WeightedRandomSampler, default_collate, default_convert,
                    get_worker_info, random_split)

__all__ = ["BatchSampler", "ChainDataset", "ConcatDataset", "DataLoader", "Dataset", "DistributedSampler",
           "IterableDataset", "RandomSampler", "Sampler", "SequentialSampler", "StackDataset", "Subset",
           "SubsetRandomSampler", "TensorDataset", "WeightedRandomSampler", "default_collate", "default_convert",
           "get_worker_info", "random_split"]
