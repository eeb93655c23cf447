import jax
import pytest


@pytest.fixture(autouse=True)
def cheap_compiles():
    """These tests compile many tiny programs and run each briefly, so XLA's optimisations cost
    more than they save (about a third of the suite's time). Scoped to this package's tests."""
    previous = jax.config.read("jax_disable_most_optimizations")
    jax.config.update("jax_disable_most_optimizations", True)
    yield
    jax.config.update("jax_disable_most_optimizations", previous)
