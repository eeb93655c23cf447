import jax
import numpy as np
import pytest

import hades_bc_inner as hbc


@pytest.mark.parametrize(
    ("n", "num_classes", "counts"),
    [(4, 2, [2, 2]), (16, 3, [6, 5, 5]), (17, 3, [6, 6, 5]), (9, 4, [3, 2, 2, 2]), (1, 1, [1])],
)
def test_balanced_labels_labels_every_state_in_even_contiguous_blocks(n, num_classes, counts):
    labels = hbc.balanced_labels(n, num_classes)
    assert labels.shape == (n,)
    assert labels.dtype == np.int32
    np.testing.assert_array_equal(np.bincount(labels, minlength=num_classes), counts)
    assert np.all(np.diff(labels) >= 0)  # contiguous blocks


def test_balanced_labels_rejects_empty():
    with pytest.raises(ValueError):
        hbc.balanced_labels(0, 3)


def _data(keys):
    return np.asarray(jax.random.key_data(keys))


INIT_KEY = jax.random.key(0)
GENERATION_KEYS = jax.random.split(jax.random.key(1), 2)
MEMBER_KEYS = jax.random.split(jax.random.key(2), 2)


def _keys(mode, generation, member, num_inits=3):
    gen_key, member_key = GENERATION_KEYS[generation], MEMBER_KEYS[member]
    return _data(hbc.init_keys(INIT_KEY, gen_key, member_key, num_inits, mode))


def test_init_keys_fixed_is_the_init_key_every_time():
    keys = _keys("fixed", 0, 0)
    assert keys.shape == (3, *_data(INIT_KEY).shape)
    np.testing.assert_array_equal(keys, np.stack([_data(INIT_KEY)] * 3))
    np.testing.assert_array_equal(_keys("fixed", 1, 1), keys)
    np.testing.assert_array_equal(_keys("fixed", 0, 0, num_inits=1)[0], _data(INIT_KEY))


def test_init_keys_shared_common_across_members_new_each_generation():
    keys = _keys("shared", 0, 0)
    np.testing.assert_array_equal(_keys("shared", 0, 1), keys)
    assert not np.array_equal(_keys("shared", 1, 0), keys)
    assert len({tuple(k) for k in keys}) == 3


def test_init_keys_per_member_differ_across_members():
    keys = _keys("per_member", 0, 0)
    assert not np.array_equal(_keys("per_member", 0, 1), keys)
    np.testing.assert_array_equal(_keys("per_member", 1, 0), keys)
    assert len({tuple(k) for k in keys}) == 3


def test_init_keys_vmap_over_members_and_raw_keys():
    raw = jax.random.PRNGKey(0)
    members = jax.random.split(raw, 4)
    keys = jax.vmap(lambda m: hbc.init_keys(raw, raw, m, 2, "per_member"))(members)
    assert keys.shape == (4, 2, 2)
    fixed = jax.vmap(lambda m: hbc.init_keys(raw, raw, m, 2, "fixed"))(members)
    np.testing.assert_array_equal(fixed, np.broadcast_to(raw, (4, 2, 2)))


def test_init_keys_unknown_mode():
    with pytest.raises(ValueError, match="Unknown init mode"):
        hbc.init_keys(INIT_KEY, INIT_KEY, INIT_KEY, 1, "random")
