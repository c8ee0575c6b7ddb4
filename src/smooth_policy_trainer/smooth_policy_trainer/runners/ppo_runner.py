"""
The training loop: rollouts in ImitationEnv, PPO updates, logs, checkpoints and resume.

One iteration collects ``ppo.num_steps`` steps of every environment, then runs PPO's minibatch
epochs (with the action Jacobian penalty as a regulariser when enabled). The environment speaks
numpy float64; the networks see float32 tensors. Observations are normalised by a
RunningNormalizer updated on the rollout's observations, as the exported policy will be.

A checkpoint holds everything the next iteration reads: networks, optimiser and learning rate,
normaliser, iteration, the torch RNG and every generator, the environment's state and the current
observations and phases. Resuming from it reproduces the uninterrupted run bit for bit.
Checkpoints are written every ``run.checkpoint_every`` iterations, at the end, and on SIGINT or
SIGTERM: the first signal finishes the current iteration and saves it; a second (or a
KeyboardInterrupt) abandons the iteration and saves the state it started from.
"""

from collections import deque
import copy
import json
from pathlib import Path
import time

import numpy as np
from smooth_policy_trainer.algorithms.ppo import PPO
from smooth_policy_trainer.algorithms.storage import RolloutStorage
from smooth_policy_trainer.config.reader import config_to_dict, dump_config
from smooth_policy_trainer.config.train_config import config_from_dict
from smooth_policy_trainer.envs.imitation_env import ImitationEnv
from smooth_policy_trainer.envs.privileged_inputs import privileged_size
from smooth_policy_trainer.envs.task_metadata import task_to_plain
from smooth_policy_trainer.evaluation.evaluate import evaluate_policy, format_table
from smooth_policy_trainer.networks.export import build_policy
from smooth_policy_trainer.networks.normalizer import make_normalizer
from smooth_policy_trainer.networks.policies import Critic, make_actor
from smooth_policy_trainer.runners.checkpoint import (checkpoint_path, FORMAT, FORMAT_VERSION,
                                                      load_checkpoint, save_checkpoint, to_numpy)
from smooth_policy_trainer.runners.common import (fresh_run_dir, git_revision, make_generators,
                                                  open_run, seed_torch, StopOnSignal,
                                                  unstable_postfix, unstable_scalars)
from smooth_policy_trainer.runners.init_from import initialize_from
from smooth_policy_trainer.runners.warm_start import warm_start_from_clip
from smooth_policy_trainer.smoothing.jacobian import JacobianPenalty
from smooth_policy_trainer.smoothing.regularizers import CAPS, GradientPenalty
import torch
from tqdm import tqdm

GENERATORS = ('action', 'minibatch', 'penalty', 'caps')
EVAL_SEED = 0   # every periodic evaluation starts from the same phases, so they compare


def new_run_dir(config):
    """Return a fresh run directory <log_dir>/<run_name> (named by clip, kind and time)."""
    name = config.run.run_name or \
        f"{Path(config.env.clip).stem}_{config.policy.kind}_{time.strftime('%Y%m%d-%H%M%S')}"
    return fresh_run_dir(config.run.log_dir, name)


class Runner(StopOnSignal):
    """Owns the environment, the learner and the run directory; trains and checkpoints."""

    def __init__(self, config, run_dir, progress=True, fresh=True):
        self.config, self.run_dir, self.progress = config, Path(run_dir), progress
        seed_torch(config.run.seed, config.run.torch_threads)
        self.env = ImitationEnv(config.env)
        size, num_actions = self.env.observation_size, self.env.num_actions
        actor = make_actor(config.policy.kind, size, num_actions,
                           **config.policy.actor_options())
        if fresh and config.policy.reference_warm_start:
            before, after = warm_start_from_clip(actor, self.env)
            print(f'reference warm start: the action at the mean observation is {after:.4f} RMS '
                  f'from the clip replay (was {before:.4f})', flush=True)
        # The critic may see what the actor may not (critic.privileged_inputs), after s.
        self.privileged = tuple(config.critic.privileged_inputs)
        privileged = privileged_size(self.privileged)
        critic = Critic(size + privileged, config.critic.hidden_sizes, config.critic.activation,
                        config.critic.phase_harmonics, config.critic.init)
        # One generator per use, seeded from run.seed: a checkpoint saves each stream's state.
        self.generators = make_generators(config.run.seed, GENERATORS)
        regularizers = []
        if config.penalty.enabled and config.penalty.weight > 0:
            regularizers.append(JacobianPenalty(config.penalty.weight, config.penalty.method,
                                                self.generators['penalty']))
        if config.caps.enabled:
            caps = config.caps
            regularizers.append(CAPS(caps.lambda_temporal, caps.lambda_spatial, caps.sigma,
                                     self.generators['caps']))
        if config.gradient_penalty.enabled:
            regularizers.append(GradientPenalty(config.gradient_penalty.weight,
                                                config.ppo.min_std))
        self.ppo = PPO(actor, critic, config.ppo, regularizers)
        self.normalizer = make_normalizer(config.normalizer, size)
        if fresh and config.run.init_from:
            loaded = initialize_from(config.run.init_from, self.ppo, self.normalizer, self.env,
                                     config.policy.kind, config.policy.initial_std)
            print(f'second stage: {loaded}', flush=True)
        # Held statistics: randomised sensors (noise, held odometry) would move the mean and std
        # the first stage's actor was learnt on, and with them what every input means to it.
        self.normalizer.frozen = not config.normalizer.update
        self.storage = RolloutStorage(config.ppo.num_steps, config.env.num_envs, size,
                                      num_actions, privileged)
        self.iteration = 0
        self.episode_returns = deque(maxlen=100)   # the last 100 finished episodes, for logs
        self.episode_lengths = deque(maxlen=100)
        self.git_revision = git_revision()
        self.observations, self.phases = self._to_torch(*self.env.reset())
        self._stop_requested = False
        self.writer = None

    @classmethod
    def resume(cls, run_dir, iterations=None, progress=True):
        """Return a runner continuing the latest checkpoint of ``run_dir`` exactly."""
        state = load_checkpoint(run_dir)
        config = config_from_dict(state['config'], source=f"{state['path']}: config")
        if iterations is not None:
            config.run.iterations = iterations
        runner = cls(config, run_dir, progress, fresh=False)   # the checkpoint has the weights
        runner.load_state(state)
        return runner

    # -- one iteration ---------------------------------------------------------------------------

    @staticmethod
    def _to_torch(observations, phases):
        # Raw observations stay float64 for the normaliser's statistics; states become float32.
        return torch.from_numpy(observations).clone(), torch.from_numpy(phases).float()

    def _states(self, observations):
        return self.normalizer(observations).float()

    def _critic_states(self, states):
        # The privileged inputs of the env's current states (the ones ``states`` observe).
        if not self.privileged:
            return states
        return torch.cat((states, torch.from_numpy(self.env.privileged_inputs(self.privileged))),
                         dim=-1)

    def rollout(self):
        """Collect one rollout into the storage and compute its returns; returns statistics."""
        gamma = self.config.ppo.gamma
        self.storage.clear()
        reward_sum, term_sums = 0.0, {}
        unstable, episodes = 0, 0
        for _ in range(self.config.ppo.num_steps):
            self.normalizer.update(self.observations)
            states = self._states(self.observations)
            critic_states = self._critic_states(states)
            actions, log_probs, values, means, stds = self.ppo.act(
                states, self.phases, self.generators['action'], critic_states)
            result = self.env.step(actions.numpy())
            next_observations, next_phases = self._to_torch(result.observations, result.phases)
            rewards = torch.from_numpy(result.rewards).float()
            # Time-out bootstrapping (rsl_rl): a truncated episode did not fail, so it keeps the
            # discounted value of where it stood. The observation after a time-out is already
            # the next episode's, so the value of this step's state stands in for it.
            truncated = torch.from_numpy(result.truncated).float()
            rewards = rewards + gamma * values * truncated
            # A step whose simulation went unstable ends its episode and is no transition.
            dones = torch.from_numpy(result.terminated | result.truncated | result.unstable)
            self.storage.add(states, self.phases, actions, log_probs, values, rewards,
                             dones.float(), means, stds, self._states(next_observations),
                             next_phases, learnable=torch.from_numpy(~result.unstable).float(),
                             critic_states=critic_states)
            unstable += int(result.unstable.sum())
            episodes += len(result.finished_lengths) + int(result.unstable.sum())
            self.observations, self.phases = next_observations, next_phases
            reward_sum += float(result.rewards.mean())
            for name, term in result.reward_terms.items():
                term_sums[name] = term_sums.get(name, 0.0) + float(term.mean())
            self.episode_returns.extend(result.finished_returns.tolist())
            self.episode_lengths.extend(result.finished_lengths.tolist())
        last_values = self.ppo.value(self._critic_states(self._states(self.observations)),
                                     self.phases)
        self.storage.compute_returns(last_values, gamma, self.config.ppo.lam)
        steps = self.config.ppo.num_steps
        return {'reward_per_step': reward_sum / steps,
                **{f'reward/{name}': total / steps for name, total in term_sums.items()},
                **unstable_scalars(unstable, episodes)}

    def step(self):
        """Run one iteration (rollout, then update); returns its scalars for the logs."""
        start = time.perf_counter()
        rollout = self.rollout()
        collected = time.perf_counter()
        warming_up = self.iteration < self.config.run.critic_warmup_iterations
        if warming_up:
            actor_before = copy.deepcopy(self.ppo.actor.state_dict())
            learning_rate = self.ppo.learning_rate
        losses = self.ppo.update(self.storage, self.generators['minibatch'])
        if warming_up:
            # Only the critic learns: a fresh critic's values would move any actor. The KL-
            # adaptive rate, which shrank on the actor's discarded steps, starts over too.
            self.ppo.actor.load_state_dict(actor_before)
            self.ppo.set_learning_rate(learning_rate)
        done = time.perf_counter()
        self.iteration += 1
        steps = self.config.ppo.num_steps * self.config.env.num_envs
        scalars = {'train/reward_per_step': rollout.pop('reward_per_step'), **rollout,
                   'perf/env_steps_per_s': steps / (collected - start),
                   'perf/total_steps_per_s': steps / (done - start),
                   'perf/iteration_s': done - start, 'perf/update_s': done - collected,
                   'policy/learning_rate': losses.pop('learning_rate'),
                   'policy/action_std': losses.pop('action_std')}
        for regularizer in self.ppo.regularizers:
            for name in regularizer.log_names:
                scalars[f'penalty/{name}'] = losses.pop(name)
        scalars.update({f'loss/{name}': value for name, value in losses.items()})
        if self.episode_returns:
            scalars['train/episode_return'] = float(np.mean(self.episode_returns))
            scalars['train/episode_length_s'] = \
                float(np.mean(self.episode_lengths)) * self.env.control_dt
        return scalars

    # -- state -----------------------------------------------------------------------------------

    def state(self):
        """Return a deep copy of everything a checkpoint holds."""
        return copy.deepcopy({
            'format': FORMAT, 'format_version': FORMAT_VERSION, 'iteration': self.iteration,
            'config': config_to_dict(self.config), 'git_revision': self.git_revision,
            'ppo': self.ppo.state_dict(), 'normalizer': self.normalizer.state_dict(),
            'rng': {'torch': torch.get_rng_state(),
                    **{name: gen.get_state() for name, gen in self.generators.items()}},
            'env': self.env.get_state(), 'observations': self.observations,
            'phases': self.phases, 'task': task_to_plain(self.env.policy_metadata()),
            'episode_returns': list(self.episode_returns),
            'episode_lengths': list(self.episode_lengths),
        })

    def load_state(self, state):
        """Restore a state from state() or load_checkpoint()."""
        self.ppo.load_state_dict(state['ppo'])
        self.normalizer.load_state_dict(state['normalizer'])
        torch.set_rng_state(state['rng']['torch'])
        for name, generator in self.generators.items():
            if name in state['rng']:  # checkpoints from before CAPS have no 'caps' stream
                generator.set_state(state['rng'][name])
        self.env.set_state(to_numpy(state['env']))
        # The saved observations, not a fresh readout: these are what the next step acts on.
        self.observations = state['observations'].clone()
        self.phases = state['phases'].clone()
        self.iteration = int(state['iteration'])
        self.episode_returns.extend(state['episode_returns'])
        self.episode_lengths.extend(state['episode_lengths'])
        self.git_revision = state.get('git_revision', self.git_revision)

    def save(self, state=None):
        """Write a checkpoint (of the current state by default); returns its path."""
        state = self.state() if state is None else state
        return save_checkpoint(state, checkpoint_path(self.run_dir, state['iteration']))

    # -- the loop --------------------------------------------------------------------------------

    def train(self):
        """Train up to run.iterations; returns 'finished' or 'interrupted'."""
        run = self.config.run
        self.writer = open_run(self.run_dir, dump_config(self.config),
                               self.iteration + 1 if self.iteration else None)
        bar = tqdm(total=run.iterations, initial=self.iteration, desc=self.run_dir.name,
                   unit='it', dynamic_ncols=True, disable=not self.progress)
        previous_handlers = self._install_signal_handlers()
        snapshot = None
        try:
            while self.iteration < run.iterations:
                # The state this iteration starts from: what a hard interrupt saves.
                snapshot = self.state()
                scalars = self.step()
                last = self.iteration == run.iterations
                if run.eval_every and (self.iteration % run.eval_every == 0 or last):
                    scalars.update(self.evaluate(bar))
                for name, value in scalars.items():
                    self.writer.add_scalar(name, value, self.iteration)
                bar.update(1)
                bar.set_postfix_str(self._postfix(scalars), refresh=False)
                if self._stop_requested or last or self.iteration % run.checkpoint_every == 0:
                    path = self.save()
                if self._stop_requested and not last:
                    self._say_how_to_resume(bar, path, self.iteration)
                    return 'interrupted'
            return 'finished'
        except KeyboardInterrupt:
            if snapshot is None:
                raise
            path = self.save(snapshot)
            self._say_how_to_resume(bar, path, snapshot['iteration'])
            return 'interrupted'
        finally:
            self._restore_signal_handlers(previous_handlers)
            bar.close()
            self.writer.close()

    def evaluate(self, bar=None):
        """Evaluate the current actor deterministically; returns 'eval/...' scalars."""
        policy = build_policy(self.ppo.actor, self.normalizer, self.env.policy_metadata(),
                              config_to_dict(self.config), self.git_revision)
        run = self.config.run
        result = evaluate_policy(policy, self.config.env, run.eval_episodes, run.eval_seconds,
                                 seed=EVAL_SEED)
        folder = self.run_dir / 'evaluations'
        folder.mkdir(parents=True, exist_ok=True)
        (folder / f'iteration_{self.iteration:06d}.json').write_text(
            json.dumps(result, indent=2) + '\n')
        if bar is not None and self.progress:
            bar.write(f'iteration {self.iteration}: ' + format_table(result))
        # Forward speed and heading sit next to RMSE: a policy that trots in place scores a
        # fair joint RMSE on a clip that moves.
        scalars = {f'eval/{name}': result[name] for name in (
            'return', 'joint_rmse_rad', 'end_effector_rmse_m', 'survival_rate', 'unstable_rate',
            'forward_speed_m_s', 'heading_drift_deg_per_s') if result[name] is not None}
        for name, figure in result['smoothness'].items():
            if figure['value'] is not None:
                scalars[f'eval/{name}'] = figure['value']
        return scalars

    @staticmethod
    def _postfix(scalars):
        parts = []
        if 'train/episode_return' in scalars:
            parts.append(f"ret={scalars['train/episode_return']:.1f}")
        parts.append(f"r/step={scalars['train/reward_per_step']:.3f}")
        parts.append(f"sps={scalars['perf/env_steps_per_s']:.0f}")
        parts += unstable_postfix(scalars)
        return ' '.join(parts)

    def _say_how_to_resume(self, bar, path, iteration):
        bar.write(f'Interrupted: saved {path} ({iteration} iterations done). Resume with:\n'
                  f'  python -m smooth_policy_trainer.train --resume {self.run_dir}')

    def close(self):
        """Stop the simulator threads."""
        self.env.close()
