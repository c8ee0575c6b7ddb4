"""
Exploration gap: what a trained run's policy does with its exploration noise and without it.

PPO trains the stochastic policy (mean + std * noise), and its returns are that policy's; the
evaluation and the robot run the mean. Where the dynamics make the noise matter the two differ:
`lpn_hop`'s second stage, with its noise (std 0.1), drifted 0.17 m from the clip's root in 10 s
and its mean 0.99 m (docs/results.md). For a run directory (its latest checkpoint) this rolls
out the run's own training env from the same starts twice, sampling actions and taking the mean,
and prints per mode the survival, the reward per step and the base's horizontal offset from the
clip's root at the end (in the clip's heading frame: ahead, to the left).

    .venv/bin/python bench/exploration_gap.py RUN_DIR [--seconds 9.9] [--seed 0]
"""

import argparse
import sys

import numpy as np
from smooth_policy_trainer.envs.privileged_inputs import privileged_inputs
from smooth_policy_trainer.runners.ppo_runner import Runner
import torch

MODES = ('sampled', 'mean')


def rollout(runner, mode, steps, seed):
    """Run ``steps`` control steps of every env; returns this mode's figures."""
    env = runner.env
    env.rng = np.random.default_rng(seed)   # the same starts for both modes
    generator = torch.Generator().manual_seed(seed)
    observations, phases = runner._to_torch(*env.reset())
    alive = np.ones(env.num_envs, dtype=bool)
    reward = 0.0
    for _ in range(steps):
        states = runner._states(observations)
        with torch.no_grad():
            means = runner.ppo.actor.mean(states, phases)
            actions = means + runner.ppo.std() * torch.randn(means.shape, generator=generator)
        result = env.step((actions if mode == 'sampled' else means).numpy())
        reward += float(result.rewards[alive].mean()) if alive.any() else 0.0
        alive &= ~(result.terminated | result.unstable)
        observations, phases = runner._to_torch(result.observations, result.phases)
    offset = privileged_inputs(('root_position_error',), env.sim.read_state(),
                               env.clip.sample(env.absolute_phase()))[alive]
    distance = np.linalg.norm(offset, axis=-1)
    return {'survival': float(alive.mean()), 'reward_per_step': reward / steps,
            'ahead_m': float(offset[:, 0].mean()) if len(offset) else float('nan'),
            'left_m': float(offset[:, 1].mean()) if len(offset) else float('nan'),
            'offset_mean_m': float(distance.mean()) if len(offset) else float('nan'),
            'offset_max_m': float(distance.max()) if len(offset) else float('nan')}


def main(argv=None):
    """Print the table; returns the figures per mode."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[1])
    parser.add_argument('run_dir', help='a training run directory (its latest checkpoint)')
    parser.add_argument('--seconds', type=float, default=9.9,
                        help='rollout length (capped below the episode length: no time-outs)')
    parser.add_argument('--seed', type=int, default=0)
    args = parser.parse_args(argv)
    runner = Runner.resume(args.run_dir, progress=False)
    try:
        env = runner.env
        steps = max(1, min(int(round(args.seconds / env.control_dt)),
                           env.max_episode_steps - 1))
        figures = {mode: rollout(runner, mode, steps, args.seed) for mode in MODES}
    finally:
        runner.close()
    print(f'{args.run_dir}: iteration {runner.iteration}, {env.num_envs} environments x '
          f'{steps * env.control_dt:.2f} s, exploration std '
          f'{runner.ppo.std().mean().item():.3f}')
    print('| actions | survival | reward / step | ahead of the clip (m) | left (m) | '
          'offset mean (m) | offset max (m) |')
    print('|---|---|---|---|---|---|---|')
    for mode, row in figures.items():
        print(f"| {mode} | {row['survival']:.2f} | {row['reward_per_step']:.3f} | "
              f"{row['ahead_m']:.3f} | {row['left_m']:.3f} | {row['offset_mean_m']:.3f} | "
              f"{row['offset_max_m']:.3f} |")
    return figures


if __name__ == '__main__':
    main(sys.argv[1:])
