"""Image dataset distillation as an ES problem: the genome is the synthetic images (and, as an
option, their label logits); a candidate's fitness is minus the loss that classifiers trained on it
get on the real training set."""

from __future__ import annotations

import dataclasses

import jax
import jax.numpy as jnp

from hades_bc_inner import INIT_MODES, init_keys
from hades_distill_vision._src.classifier import (
    Chunks,
    Recipe,
    batch_loss_and_accuracy,
    chunk_split,
    chunked_loss_and_accuracy,
    train_classifier,
)
from hades_distill_vision._src.data import ImageSplit
from hades_distill_vision._src.synthetic import (
    INITS,
    initial_images,
    initial_label_logits,
    synthetic_labels,
)


@dataclasses.dataclass(frozen=True)
class ImageDistillation:
    """The engine's `Problem` for image distillation (jit- and vmap-able `member_fitness`).

    recipe: the inner loop (classifier and its training).
    train: the real training set (host arrays; the jitted fitness holds it as a constant).
    per_class: synthetic images per class. init: mean | real | zeros.
    learn_labels: evolve (n, classes) label logits too; else image block i has class i.
    num_inits: classifiers trained per candidate, their losses averaged.
    init_mode: their init keys: "shared" (from the generation's shared key: common random
      numbers, HaDES-R), "per_member", or "fixed" (one init for the whole run, HaDES-F).
    fitness_batch: real images the fitness is measured on: None = the whole training set (in
      chunks of `eval_chunk`), else a fresh random batch per generation shared by all members.
    """

    recipe: Recipe
    train: ImageSplit = dataclasses.field(repr=False, compare=False, hash=False)
    per_class: int = 1
    init: str = "mean"
    learn_labels: bool = False
    num_inits: int = 2
    init_mode: str = "shared"
    fitness_batch: int | None = None
    eval_chunk: int = 1000
    seed: int = 0
    _chunks: Chunks | None = dataclasses.field(
        init=False, repr=False, compare=False, hash=False, default=None
    )

    def __post_init__(self):
        if self.init not in INITS:
            raise ValueError(f"unknown image init {self.init!r}; choose one of {INITS}")
        if self.init_mode not in INIT_MODES:
            raise ValueError(f"unknown init mode {self.init_mode!r}; choose one of {INIT_MODES}")
        if self.per_class < 1 or self.num_inits < 1:
            raise ValueError("per_class and num_inits must be at least 1")
        if self.fitness_batch is not None and self.fitness_batch < 1:
            raise ValueError("fitness_batch must be at least 1 (or None: the whole set)")
        if self.fitness_batch is None:
            object.__setattr__(self, "_chunks", chunk_split(self.train, self.eval_chunk))

    @property
    def num_images(self) -> int:
        return self.per_class * self.recipe.num_classes

    @property
    def labels(self) -> jax.Array:
        return synthetic_labels(self.per_class, self.recipe.num_classes)

    @property
    def fixed_init_key(self) -> jax.Array:
        return jax.random.fold_in(jax.random.key(self.seed), 0x1F1)

    def initial_genome(self, key: jax.Array) -> dict[str, jax.Array]:
        images = initial_images(self.init, self.train, self.per_class, key, self.recipe.num_classes)
        genome = {"images": images}
        if self.learn_labels:
            genome["label_logits"] = initial_label_logits(self.labels, self.recipe.num_classes)
        return genome

    def targets(self, genome) -> jax.Array:
        """What the classifiers are trained to predict: label logits, or the fixed classes."""
        return genome["label_logits"] if self.learn_labels else self.labels

    def real_loss_and_accuracy(self, params, batch_key: jax.Array):
        if self.fitness_batch is None:
            return chunked_loss_and_accuracy(self.recipe, params, self._chunks)
        # Same batch for every member (the key is the generation's): a common random number.
        n = len(self.train.labels)
        index = jax.random.randint(batch_key, (self.fitness_batch,), 0, n)
        images = jnp.asarray(self.train.images)[index]
        labels = jnp.asarray(self.train.labels)[index]
        loss, correct, count = batch_loss_and_accuracy(self.recipe, params, images, labels)
        return loss / count, correct / count

    def member_fitness(self, genome, member_key, shared_key) -> dict[str, jax.Array]:
        """fitness: minus the (loss_scale-scaled) real-train cross-entropy of `num_inits` fresh
        classifiers trained on the candidate, averaged (maximised). Also their final training loss
        on the synthetic images and their real-data accuracy."""
        inits = init_keys(
            self.fixed_init_key, shared_key, member_key, self.num_inits, self.init_mode
        )
        batch_key = jax.random.fold_in(shared_key, 0xBA7C)
        targets = self.targets(genome)

        def one(init_key):
            result = train_classifier(self.recipe, genome["images"], targets, init_key)
            loss, accuracy = self.real_loss_and_accuracy(result.params, batch_key)
            return loss, accuracy, result.losses[-1]

        real_loss, accuracy, train_loss = jax.vmap(one)(inits)
        return {
            "fitness": -self.recipe.fit.loss_scale * real_loss.mean(),
            "train_loss": train_loss.mean(),
            "real_accuracy": accuracy.mean(),
        }
