import chex
import jax
import jax.numpy as jnp
import numpy as np
from absl.testing import parameterized

import hades_bc_inner as hbc


class LossesTest(chex.TestCase):
    @chex.variants(with_jit=True, without_jit=True)
    def test_cross_entropy(self):
        logits = jnp.array([1.0, 2.0, 0.5])
        got = self.variant(hbc.cross_entropy)(logits, jnp.array(1))
        np.testing.assert_allclose(got, -jax.nn.log_softmax(logits)[1], rtol=1e-6)

    def test_cross_entropy_is_per_example(self):
        with self.assertRaises(AssertionError):
            hbc.cross_entropy(jnp.zeros((2, 3)), jnp.zeros(2, jnp.int32))

    @chex.variants(with_jit=True, without_jit=True)
    def test_gaussian_nll_hand_computed(self):
        mean = jnp.array([0.0, 1.0])
        log_std = jnp.array([0.0, np.log(2.0)])
        action = jnp.array([1.0, 0.0])
        # dim 0: 0.5 * 1^2 + 0 + c; dim 1: 0.5 * (1/2)^2 + log 2 + c; c = 0.5 * log(2 pi).
        expected = 0.5 + 0.125 + np.log(2.0) + np.log(2.0 * np.pi)
        got = self.variant(hbc.gaussian_nll)(mean, log_std, action)
        np.testing.assert_allclose(got, expected, rtol=1e-6)
        reference = -jax.scipy.stats.norm.logpdf(action, mean, jnp.exp(log_std)).sum()
        np.testing.assert_allclose(got, reference, rtol=1e-6)

    def test_policy_losses(self):
        logits = jnp.array([0.3, -1.0])
        self.assertEqual(
            hbc.make_policy_loss("categorical")(logits, 1), hbc.cross_entropy(logits, 1)
        )
        mean, log_std, action = jnp.zeros(2), jnp.ones(2), jnp.ones(2)
        np.testing.assert_allclose(
            hbc.make_policy_loss("continuous")((mean, log_std), action),
            hbc.gaussian_nll(mean, log_std, action),
        )


class ActionsTest(chex.TestCase):
    @chex.variants(with_jit=True, without_jit=True)
    @parameterized.parameters(True, False)
    def test_categorical_action(self, greedy):
        logits = jnp.log(jnp.array([0.1, 0.6, 0.3]))
        keys = jax.random.split(jax.random.key(0), 4000)
        act = self.variant(jax.vmap(lambda k: hbc.categorical_action(logits, k, greedy)))
        actions = act(keys)
        chex.assert_type(actions, jnp.int32)
        counts = np.bincount(np.asarray(actions), minlength=3) / len(keys)
        expected = [0.0, 1.0, 0.0] if greedy else [0.1, 0.6, 0.3]
        np.testing.assert_allclose(counts, expected, atol=0.03)

    def test_categorical_greedy_needs_no_key_and_may_be_traced(self):
        logits = jnp.array([0.0, 3.0, 1.0])
        self.assertEqual(hbc.categorical_action(logits, None, greedy=True), 1)
        traced = jax.jit(hbc.categorical_action)(logits, jax.random.key(1), jnp.array(True))
        self.assertEqual(traced, 1)

    @chex.variants(with_jit=True, without_jit=True)
    @parameterized.parameters(True, False)
    def test_gaussian_action(self, greedy):
        mean, log_std = jnp.array([1.0, -2.0]), jnp.log(jnp.array([0.5, 2.0]))
        keys = jax.random.split(jax.random.key(0), 4000)
        act = self.variant(jax.vmap(lambda k: hbc.gaussian_action(mean, log_std, k, greedy)))
        actions = act(keys)
        chex.assert_shape(actions, (4000, 2))
        np.testing.assert_allclose(actions.mean(0), mean, atol=0.1)
        np.testing.assert_allclose(actions.std(0), 0.0 if greedy else [0.5, 2.0], atol=0.1)
