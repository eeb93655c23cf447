"""The default chunk size: a divisor of the members per device, small for wide policies."""

import jax

from hades.config import DistillConfig
from hades.distill import problem_from_config
from hades.parallel import AUTO_CHUNK_MAX, auto_chunk_size


def test_auto_chunk_size():
    mb = 2**20
    assert auto_chunk_size(128, None) is None  # unknown size: all at once, as before
    assert auto_chunk_size(16, 20_000) is None  # all fit
    assert auto_chunk_size(128, 20_000) == AUTO_CHUNK_MAX
    assert auto_chunk_size(256, 2 * mb) == 4  # width-512 MinAtar policies
    assert auto_chunk_size(32, 1_100_000) == 4  # hopper, width 512: the largest divisor <= 7
    assert auto_chunk_size(257, 2 * mb) == 1  # prime: one at a time
    assert auto_chunk_size(8, 100 * mb) == 1


def test_member_param_bytes_counts_every_init():
    config = DistillConfig(width=64, num_inits=2)
    problem = problem_from_config(config)
    params = 4 * 64 + 64 + 64 * 64 + 64 + 64 * 2 + 2  # CartPole: 4 -> 64 -> 64 -> 2
    assert problem.member_param_bytes == 2 * 4 * params


def test_fixed_init_is_the_recorded_one():
    problem = problem_from_config(DistillConfig(variant="F", seed=3))
    expected = problem.task.init_params(jax.random.key(3 + 420))
    same = jax.tree.map(lambda a, b: bool((a == b).all()), problem.fixed_params, expected)
    assert all(jax.tree.leaves(same))
