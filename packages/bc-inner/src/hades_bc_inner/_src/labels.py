"""Labels of the synthetic states."""

import jax
import jax.numpy as jnp
import numpy as np


def balanced_labels(n: int, num_classes: int) -> jax.Array:
    """(n,) int32 labels in contiguous blocks, every state labelled, sizes as even as possible.

    The first n % num_classes classes get one extra state, e.g. n=16, num_classes=3 -> 6, 5, 5.
    (With n < num_classes the last classes get no state.)
    """
    if n < 1 or num_classes < 1:
        raise ValueError(f"need n >= 1 and num_classes >= 1, got n={n}, {num_classes=}")
    base, extra = divmod(n, num_classes)
    counts = base + (np.arange(num_classes) < extra)
    return jnp.asarray(np.repeat(np.arange(num_classes), counts), jnp.int32)
