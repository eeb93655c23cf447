"""hades-distill-vision: image dataset distillation with HaDES (Lupu et al., ICLR 2024, §5.4).

MNIST-family IDX loading (with verified download), synthetic image datasets, the classifier inner
loop (from hades-bc-inner), the ES problem the hades engine evolves, and the paper's evaluation.
"""

from hades_distill_vision._src.classifier import (
    NETS,
    Chunks,
    Recipe,
    batch_loss_and_accuracy,
    chunk_split,
    chunked_loss_and_accuracy,
    init_classifier,
    paper_recipe,
    redraw_biases,
    soft_cross_entropy,
    train_classifier,
)
from hades_distill_vision._src.data import (
    DATA_DIR_ENV,
    IDX_FILES,
    IMAGE_SHAPE,
    NUM_CLASSES,
    SOURCES,
    ChecksumError,
    DataNotFoundError,
    ImageDataset,
    ImageSource,
    ImageSplit,
    dataset_dir,
    download_dataset,
    image_source,
    load_image_dataset,
    write_idx_dataset,
)
from hades_distill_vision._src.evaluate import accuracy_summary, test_accuracy
from hades_distill_vision._src.idx import IDXError, read_idx, write_idx
from hades_distill_vision._src.problem import ImageDistillation
from hades_distill_vision._src.synthetic import (
    INITS,
    class_means,
    initial_images,
    initial_label_logits,
    synthetic_labels,
)

__version__ = "0.1.0"

__all__ = [
    "DATA_DIR_ENV",
    "IDX_FILES",
    "IMAGE_SHAPE",
    "INITS",
    "NETS",
    "NUM_CLASSES",
    "SOURCES",
    "ChecksumError",
    "Chunks",
    "DataNotFoundError",
    "IDXError",
    "ImageDataset",
    "ImageDistillation",
    "ImageSource",
    "ImageSplit",
    "Recipe",
    "__version__",
    "accuracy_summary",
    "batch_loss_and_accuracy",
    "chunk_split",
    "chunked_loss_and_accuracy",
    "class_means",
    "dataset_dir",
    "download_dataset",
    "image_source",
    "init_classifier",
    "initial_images",
    "initial_label_logits",
    "load_image_dataset",
    "paper_recipe",
    "read_idx",
    "redraw_biases",
    "soft_cross_entropy",
    "synthetic_labels",
    "test_accuracy",
    "train_classifier",
    "write_idx",
    "write_idx_dataset",
]
