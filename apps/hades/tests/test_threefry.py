"""The unrolled CPU threefry lowering gives JAX's random numbers bit for bit."""

import subprocess
import sys
import textwrap

import hades._threefry

CODE = textwrap.dedent(
    """
    import os, sys
    if sys.argv[1] == "patched":
        from hades._threefry import use_unrolled_threefry_on_cpu
        assert use_unrolled_threefry_on_cpu()
    import jax, jax.numpy as jnp
    key = jax.random.key(7)
    f = jax.jit(lambda k: (
        jax.random.bits(k, (5,)),
        jax.random.key_data(jax.random.split(k, 3)),
        jax.random.categorical(k, jnp.arange(4.0), shape=(3,)),
        jax.lax.scan(lambda k, _: (jax.random.split(k)[0], jax.random.normal(k)), k, length=4)[1],
    ))
    print([jax.numpy.asarray(x).tolist() for x in f(key)])
    bits = jax.jit(lambda k: jax.random.bits(k, (5,)))  # no scan: any while loop is threefry's
    print("rolled loop:", "stablehlo.while" in bits.lower(key).as_text())
    """
)


def _draws(mode: str) -> str:
    env = {"HADES_ROLLED_THREEFRY": "0", "JAX_PLATFORMS": "cpu", "PATH": ""}
    out = subprocess.run(
        [sys.executable, "-c", CODE, mode], capture_output=True, text=True, check=True, env=env
    )
    return out.stdout


def test_unrolled_threefry_is_bitwise_jax_default():
    patched, stock = _draws("patched").splitlines(), _draws("stock").splitlines()
    assert patched[0] == stock[0]  # the same random bits
    # ... from a different lowering: JAX's CPU default hashes in a while loop, ours does not.
    assert (stock[1], patched[1]) == ("rolled loop: True", "rolled loop: False")


def test_opt_out(monkeypatch):
    monkeypatch.setenv("HADES_ROLLED_THREEFRY", "1")
    assert hades._threefry.use_unrolled_threefry_on_cpu() is False
