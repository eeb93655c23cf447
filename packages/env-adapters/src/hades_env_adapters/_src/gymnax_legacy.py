"""Older gymnax dynamics, for datasets evolved on them (the paper's, on gymnax 0.0.6).

gymnax 1.0 changed SpaceInvaders-MinAtar in two ways that matter to a policy (gymnax 0.0.6,
0.0.8 and 0.0.9 all have the old behaviour; checked against their wheels):

* reset: the first wave was 4 x 7 aliens in columns 2-8 (`alien_map[0:4, 2:9]`); gymnax 1.0
  starts with 4 x 6 in columns 2-7, as the original MinAtar does (later waves were always
  columns 2-7);
* an enemy bullet reaching the bottom row ended the episode if it hit the cannon's position
  *before* this step's move (`e_bullet_map[9, state.pos]`); gymnax 1.0 checks the position
  after the move, so a cannon can no longer dodge a bullet by stepping aside.

`dynamics="gymnax-0.0"` selects the old rules; everything else (observation, channels, action
set, rewards, timers, the 1000-step limit) is the same in both.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
from gymnax.environments.minatar import space_invaders

DYNAMICS = ("gymnax-1.0", "gymnax-0.0")
DEFAULT_DYNAMICS = "gymnax-1.0"


class LegacySpaceInvaders(space_invaders.MinSpaceInvaders):
    """SpaceInvaders-MinAtar as gymnax 0.0.6-0.0.9 ran it (see the module docstring)."""

    def reset_env(self, key, params):
        _, state = super().reset_env(key, params)
        state = state.replace(alien_map=jnp.zeros((10, 10)).at[0:4, 2:9].set(True))
        return self.get_obs(state), state

    def step_env(self, key, state, action, params):
        moved = space_invaders.step_agent(self.action_set[action], state, params)
        # step_agent's collision check uses the new position; the old one used the previous.
        hit = moved.e_bullet_map[9, state.pos].astype(bool)
        moved = moved.replace(terminal=jnp.logical_or(state.terminal, hit))
        moved = space_invaders.step_aliens(moved)
        moved, reward = space_invaders.step_shoot(moved, params)
        return self._finish_step(moved, reward, params)

    def _finish_step(self, state, reward, params):
        """The timers, the next wave and the terminal flag: gymnax's step_env after its
        step_shoot (the same code in 0.0.6 and 1.0)."""
        wave_cleared = jnp.count_nonzero(state.alien_map) == 0
        ramp = jnp.logical_and(
            wave_cleared, jnp.logical_and(state.enemy_move_interval > 6, state.ramping)
        )
        alien_map = jax.lax.select(
            wave_cleared, state.alien_map.at[0:4, 2:8].set(True), state.alien_map
        )
        state = state.replace(
            shot_timer=state.shot_timer - (state.shot_timer > 0),
            alien_move_timer=state.alien_move_timer - 1,
            alien_shot_timer=state.alien_shot_timer - 1,
            enemy_move_interval=state.enemy_move_interval - ramp,
            ramp_index=state.ramp_index + ramp,
            alien_map=alien_map,
            time=state.time + 1,
        )
        done = self.is_terminal(state, params)
        state = state.replace(terminal=done)
        return (
            jax.lax.stop_gradient(self.get_obs(state)),
            jax.lax.stop_gradient(state),
            reward.astype(jnp.float32),
            done,
            {"discount": 1 - done},
        )


_LEGACY = {("SpaceInvaders-MinAtar", "gymnax-0.0"): LegacySpaceInvaders}


def make_legacy(env_id: str, dynamics: str, **env_options):
    """The gymnax environment with `dynamics`, or None for gymnax's own (the default)."""
    if dynamics not in DYNAMICS:
        raise ValueError(f"{env_id}: unknown dynamics {dynamics!r}; expected one of {DYNAMICS}")
    if dynamics == DEFAULT_DYNAMICS:
        return None
    cls = _LEGACY.get((env_id, dynamics))
    if cls is None:
        supported = sorted(f"{e} ({d})" for e, d in _LEGACY)
        raise ValueError(
            f"{env_id}: no {dynamics!r} dynamics here; only {', '.join(supported)} (only "
            "SpaceInvaders was compared with gymnax 0.0.6 in detail)"
        )
    return cls(**env_options)
