"""The images a run trains on and eval scores: the embedded MNIST and its renderings
(`domain_arrays`, `mnist`), `make-data` files, and users' own image sets (folders, arrays),
each read by a reader that checks before it allocates (`files`, `folders`, `own_sets`), and
`sources`, which turns what `--data-a`/`--data-b` name into one of them."""

from mnist_cyclegan.data.domain_arrays import (
    EMBEDDED,
    SPLITS,
    DomainArrays,
    domain_arrays,
    domain_writer,
    load_domain,
    save_domain,
    split_view,
    validation_indices,
)
from mnist_cyclegan.data.mnist import Mnist, embedded_mnist_path, load_mnist, read_idx_folder

__all__ = [
    "EMBEDDED",
    "SPLITS",
    "DomainArrays",
    "Mnist",
    "domain_arrays",
    "domain_writer",
    "embedded_mnist_path",
    "load_domain",
    "load_mnist",
    "read_idx_folder",
    "save_domain",
    "split_view",
    "validation_indices",
]
