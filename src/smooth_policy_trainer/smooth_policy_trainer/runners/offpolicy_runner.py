"""
The off-policy training loop: collection, replay, TD3/SAC updates, logs, checkpoints, resume.

One iteration steps every environment once (uniform random actions for the first
``learner.learning_starts`` transitions, then the learner's exploration), stores the transitions,
and once learning has started runs ``learner.updates_per_step`` updates on replay batches. The
networks see float32 states: raw observations for the Gym tasks (as TD3 and PAVE use them), or
normalised by a RunningNormalizer updated on the collected observations (the imitation tasks;
the exported policy carries it). Replay stores raw observations; batches are normalised with the
statistics of the moment.

A checkpoint holds everything the next iteration reads: networks, targets, optimisers, the
replay buffer, the normaliser, every generator and the torch RNG, the environments' state and
the current observations, so resuming reproduces the uninterrupted run bit for bit. Each one
holds the replay buffer, so only the newest ``run.keep_checkpoints`` are kept. They are written
every ``run.checkpoint_every`` transitions, at the end and on SIGINT or SIGTERM: the first
signal finishes the current iteration and saves it (the PPO runner's handler). A second signal
stops at once without saving (copying the replay buffer every iteration, to have a state to
save then, would cost more than the iteration): the run resumes from its last checkpoint.
"""

from collections import deque
import json
from pathlib import Path
import time

from lpn_controller.policy_format import save_policy
import numpy as np
from smooth_policy_trainer.algorithms.replay import ReplayBuffer, Transitions
from smooth_policy_trainer.algorithms.sac import SAC
from smooth_policy_trainer.algorithms.td3 import TD3
from smooth_policy_trainer.config.offpolicy_config import offpolicy_config_from_dict
from smooth_policy_trainer.config.reader import config_to_dict, dump_config
from smooth_policy_trainer.envs.gym_tasks import GymVectorEnv
from smooth_policy_trainer.envs.offpolicy_tasks import ImitationTask
from smooth_policy_trainer.evaluation.evaluate import evaluate_policy
from smooth_policy_trainer.evaluation.gym_evaluation import evaluate_gym_policy
from smooth_policy_trainer.networks.actor_critic import (ActionBox, DeterministicActor,
                                                         exportable_actor, GaussianActor, TwinQ)
from smooth_policy_trainer.networks.export import build_policy
from smooth_policy_trainer.networks.normalizer import RunningNormalizer
from smooth_policy_trainer.runners.checkpoint import (checkpoint_path, CheckpointError, FORMAT,
                                                      FORMAT_VERSION, load_checkpoint,
                                                      save_checkpoint, to_numpy)
from smooth_policy_trainer.runners.common import (fresh_run_dir, git_revision, make_generators,
                                                  open_run, seed_torch, StopOnSignal,
                                                  unstable_postfix, unstable_scalars)
from smooth_policy_trainer.smoothing.critic_diagnostics import critic_diagnostics
from smooth_policy_trainer.smoothing.pave import PAVE
import torch
from tqdm import tqdm

TRAINER = 'offpolicy'
GENERATORS = ('action', 'replay', 'target', 'pave', 'caps')
REQUIRED_KEYS = ('format', 'format_version', 'trainer', 'iteration', 'config', 'learner',
                 'replay', 'task')
EVAL_SEED = 0         # imitation evaluations start from the same phases, so they compare
DIAGNOSTIC_SEED = 0   # the critic diagnostics draw their replay sample from their own stream


def task_label(config):
    """Return a short name of the config's task (the Gym id or the clip's name)."""
    return config.gym.env_id if config.task == 'gym' else Path(config.env.clip).stem


def new_offpolicy_run_dir(config):
    """Return a fresh run directory <log_dir>/<run_name> (named by task, method and time)."""
    method = config.learner.algorithm + ('_pave' if config.pave.enabled else '') + \
        ('_caps' if config.caps.enabled else '')
    name = config.run.run_name or \
        f"{task_label(config)}_{method}_{time.strftime('%Y%m%d-%H%M%S')}"
    return fresh_run_dir(config.run.log_dir, name)


def make_task(config):
    """Return the task the config names: a GymVectorEnv or an ImitationTask."""
    if config.task == 'gym':
        return GymVectorEnv(config.gym.env_id, config.gym.num_envs, config.gym.seed)
    return ImitationTask(config.env)


def build_learner(config, task, generators):
    """Return the TD3 or SAC learner of the config, with PAVE and CAPS when enabled."""
    box = ActionBox(task.action_low, task.action_high)
    actor, critic = config.actor, config.critic
    actor_harmonics = actor.phase_harmonics if task.has_phase else 0
    critic_harmonics = critic.phase_harmonics if task.has_phase else 0
    options = {'hidden_sizes': actor.hidden_sizes, 'activation': actor.activation,
               'phase_harmonics': actor_harmonics, 'output': actor.output}
    if config.learner.algorithm == 'td3':
        network, learner_class, algorithm = DeterministicActor(
            task.observation_size, box, **options), TD3, config.td3
    else:
        network, learner_class, algorithm = GaussianActor(
            task.observation_size, box, log_std_min=config.sac.log_std_min,
            log_std_max=config.sac.log_std_max, **options), SAC, config.sac
    critics = TwinQ(task.observation_size, task.num_actions, critic.hidden_sizes,
                    critic.activation, critic_harmonics)
    pave = PAVE(config.pave, generators['pave']) if config.pave.enabled else None
    caps = config.caps if config.caps.enabled else None
    return learner_class(network, critics, box, config.learner, algorithm, pave, caps,
                         actor.bound_penalty, generators)


def crossed(before, after, every):
    """Return whether a multiple of ``every`` lies in (before, after]."""
    return after // every > before // every


class OffPolicyRunner(StopOnSignal):
    """Owns the task, the learner, the replay buffer and the run directory; trains."""

    def __init__(self, config, run_dir, progress=True):
        self.config, self.run_dir, self.progress = config, Path(run_dir), progress
        seed_torch(config.run.seed, config.run.torch_threads)
        self.task = make_task(config)
        self.generators = make_generators(config.run.seed, GENERATORS)
        self.learner = build_learner(config, self.task, self.generators)
        size, num_actions = self.task.observation_size, self.task.num_actions
        self.normalizer = RunningNormalizer(size) if config.learner.normalize_observations \
            else None
        self.replay = ReplayBuffer(config.learner.buffer_size, size, num_actions)
        self.iteration = 0        # steps of all environments together
        self.wall_time_s = 0.0    # time spent in train(), over every resume
        self.episode_returns = deque(maxlen=100)
        self.episode_lengths = deque(maxlen=100)
        self.git_revision = git_revision()
        self.observations, self.phases = self.task.reset()
        self._stop_requested = False
        self._log_sums, self._log_count, self._log_clock = {}, 0, None
        self._unstable_since_log, self._episodes_since_log = 0, 0
        self.writer = None

    @classmethod
    def resume(cls, run_dir, total_steps=None, progress=True):
        """Return a runner continuing the latest checkpoint of ``run_dir`` exactly."""
        state = load_checkpoint(run_dir, REQUIRED_KEYS)
        if state['trainer'] != TRAINER:
            raise CheckpointError(f"{state['path']}: not an off-policy run")
        config = offpolicy_config_from_dict(state['config'], source=f"{state['path']}: config")
        if total_steps is not None:
            config.run.total_steps = total_steps
        runner = cls(config, run_dir, progress)
        runner.load_state(state)
        return runner

    @property
    def steps(self):
        """Return the transitions collected so far (all environments)."""
        return self.iteration * self.task.num_envs

    # -- one iteration ---------------------------------------------------------------------------

    def states(self, observations):
        """Return what the networks see of raw observations: float32, normalised if enabled."""
        observations = torch.as_tensor(observations)
        if self.normalizer is not None:
            observations = self.normalizer(observations.double())
        return observations.float()

    def sample(self, batch_size, generator):
        """Return a replay batch as the networks see it."""
        batch = self.replay.sample(batch_size, generator)
        return batch._replace(observations=self.states(batch.observations),
                              next_observations=self.states(batch.next_observations))

    def collect(self):
        """Step every environment once and store the transitions; returns the TaskStep."""
        observations = torch.from_numpy(self.observations)
        if self.normalizer is not None:
            self.normalizer.update(observations)
        if self.steps < self.config.learner.learning_starts:
            actions = self.learner.box.uniform(self.task.num_envs, self.generators['action'])
        else:
            actions = self.learner.explore(self.states(observations),
                                           torch.from_numpy(self.phases).float(),
                                           self.generators['action'])
        actions = actions.numpy().astype(np.float64)
        step = self.task.step(actions)
        keep = step.keep
        self.replay.add(Transitions(
            self.observations[keep], self.phases[keep], actions[keep], step.rewards[keep],
            step.next_observations[keep], step.next_phases[keep], step.terminated[keep],
            step.next_valid[keep]))
        self.observations, self.phases = step.observations, step.phases
        self.episode_returns.extend(step.finished_returns.tolist())
        self.episode_lengths.extend(step.finished_lengths.tolist())
        self._count_unstable(step)
        self.iteration += 1
        return step

    def _count_unstable(self, step):
        unstable = 0 if step.unstable is None else int(step.unstable.sum())
        self._unstable_since_log += unstable
        self._episodes_since_log += len(step.finished_lengths) + unstable

    def step(self):
        """Run one iteration: collect, then the updates once learning has started."""
        self.collect()
        learner = self.config.learner
        if self.steps < learner.learning_starts:
            return
        for _ in range(learner.updates_per_step):
            logs = self.learner.update(self.sample(learner.batch_size,
                                                   self.generators['replay']))
            for name, value in logs.items():
                self._log_sums[name] = self._log_sums.get(name, 0.0) + value
            self._log_count += 1

    # -- evaluation ------------------------------------------------------------------------------

    def evaluate(self, bar=None):
        """Evaluate the deterministic actor and diagnose the critic; returns the result."""
        run = self.config.run
        if self.config.task == 'gym':
            def act(observations):
                phases = torch.zeros(len(observations))
                return self.learner.act(self.states(observations), phases).numpy()
            result = evaluate_gym_policy(act, self.config.gym.env_id, run.eval_episodes,
                                         keep_observations=True)
            trajectories = result.pop('observations')
        else:
            result = evaluate_policy(self.export_policy(), self.config.env, run.eval_episodes,
                                     run.eval_seconds, seed=EVAL_SEED)
            trajectories = None
        result['steps'] = self.steps
        result['critic'] = self.diagnose(trajectories)
        folder = self.run_dir / 'evaluations'
        folder.mkdir(parents=True, exist_ok=True)
        (folder / f'step_{self.steps:09d}.json').write_text(json.dumps(result, indent=2) + '\n')
        if bar is not None and self.progress:
            figures = {name: figure['value'] for name, figure in result['smoothness'].items()
                       if name in ('sm', 'sm_pave', 'hfr')}
            bar.write(f"step {self.steps}: return {result['return']:.2f}, {figures}, "
                      f"critic {result['critic']}")
        return result

    def diagnose(self, trajectories=None):
        """
        Return the critic diagnostics of Q1, with the ``source`` of their states.

        On ``trajectories`` (per episode, the raw states the deterministic policy visited) when
        given, as PAVE measures them; else on a replay sample (None while the buffer is empty).
        """
        if trajectories:
            states = [self.states(episode) for episode in trajectories if len(episode) > 1]
            if not states:
                return None
            pairs = sum(len(episode) - 1 for episode in states)
            zeros = torch.zeros(pairs)
            batch = Transitions(torch.cat([episode[:-1] for episode in states]), zeros,
                                torch.zeros(pairs, len(self.learner.box.low)), zeros,
                                torch.cat([episode[1:] for episode in states]), zeros, zeros,
                                torch.ones(pairs))
            source = 'evaluation trajectories'
        elif len(self.replay):
            generator = torch.Generator().manual_seed(DIAGNOSTIC_SEED)
            batch = self.sample(self.config.run.diagnostic_samples, generator)
            source = 'replay samples'
        else:
            return None
        return {**critic_diagnostics(self.learner.critic.q1, self.learner.actor,
                                     self.learner.box, batch), 'source': source}

    def export_policy(self):
        """Return the deterministic actor as an lpn_controller ExportedPolicy (imitation)."""
        if self.config.task != 'imitation':
            raise ValueError('only imitation tasks export to the lpn_controller format')
        return build_policy(exportable_actor(self.learner.actor), self.normalizer,
                            self.task.env.policy_metadata(), config_to_dict(self.config),
                            self.git_revision)

    def export(self, output=None):
        """Write the exported policy (default RUN_DIR/policy); returns its path."""
        policy = self.export_policy()
        return save_policy(output or self.run_dir / 'policy', policy.metadata, policy.weights)

    # -- state -----------------------------------------------------------------------------------

    def state(self):
        """Return everything a checkpoint holds (replay and tensors as they are: save at once)."""
        return {
            'format': FORMAT, 'format_version': FORMAT_VERSION, 'trainer': TRAINER,
            'iteration': self.iteration, 'steps': self.steps,
            'config': config_to_dict(self.config), 'git_revision': self.git_revision,
            'learner': self.learner.state_dict(), 'replay': self.replay.state_dict(),
            'normalizer': None if self.normalizer is None else self.normalizer.state_dict(),
            'rng': {'torch': torch.get_rng_state(),
                    **{name: gen.get_state() for name, gen in self.generators.items()}},
            'env': self.task.get_state(), 'observations': self.observations.copy(),
            'phases': self.phases.copy(), 'task': self.task.task_metadata(),
            'episode_returns': list(self.episode_returns),
            'episode_lengths': list(self.episode_lengths), 'wall_time_s': self.wall_time_s,
        }

    def load_state(self, state):
        """Restore a state from state() or load_checkpoint()."""
        self.learner.load_state_dict(state['learner'])
        self.replay.load_state_dict(state['replay'])
        if self.normalizer is not None:
            self.normalizer.load_state_dict(state['normalizer'])
        torch.set_rng_state(state['rng']['torch'])
        for name, generator in self.generators.items():
            generator.set_state(state['rng'][name])
        self.task.set_state(to_numpy(state['env']))
        self.observations = to_numpy(state['observations'])
        self.phases = to_numpy(state['phases'])
        self.iteration = int(state['iteration'])
        self.wall_time_s = float(state['wall_time_s'])
        self.episode_returns.extend(state['episode_returns'])
        self.episode_lengths.extend(state['episode_lengths'])
        self.git_revision = state.get('git_revision', self.git_revision)

    def save(self):
        """Write a checkpoint of the current state, drop the older ones; returns its path."""
        path = save_checkpoint(self.state(), checkpoint_path(self.run_dir, self.iteration))
        # By number: iteration_1000000 sorts before iteration_999999 as text.
        found = sorted(path.parent.glob('iteration_*.pt'),
                       key=lambda found_path: int(found_path.stem.split('_')[1]))
        for old in found[:-self.config.run.keep_checkpoints]:
            old.unlink()
        return path

    # -- the loop --------------------------------------------------------------------------------

    def train(self):
        """Train up to run.total_steps transitions; returns 'finished' or 'interrupted'."""
        run = self.config.run
        self.writer = open_run(self.run_dir, dump_config(self.config),
                               self.steps + 1 if self.iteration else None)
        bar = tqdm(total=run.total_steps, initial=self.steps, desc=self.run_dir.name,
                   unit='step', dynamic_ncols=True, disable=not self.progress)
        previous_handlers = self._install_signal_handlers()
        self._log_clock = (time.perf_counter(), self.steps)
        try:
            while self.steps < run.total_steps:
                start, before = time.perf_counter(), self.steps
                self.step()
                last = self.steps >= run.total_steps
                if crossed(before, self.steps, run.log_every) or last:
                    self._log(bar)
                if run.eval_every and (crossed(before, self.steps, run.eval_every) or last):
                    self._log_evaluation(self.evaluate(bar))
                bar.update(self.steps - before)
                self.wall_time_s += time.perf_counter() - start
                if self._stop_requested or last or \
                        crossed(before, self.steps, run.checkpoint_every):
                    path = self.save()
                if self._stop_requested and not last:
                    bar.write(f'Interrupted: saved {path} ({self.steps} steps done). Resume '
                              'with:\n  python -m smooth_policy_trainer.train_offpolicy '
                              f'--resume {self.run_dir}')
                    return 'interrupted'
            return 'finished'
        except KeyboardInterrupt:
            bar.write(f'Stopped at once at {self.steps} steps, nothing saved; --resume '
                      f'{self.run_dir} continues from its last checkpoint')
            return 'interrupted'
        finally:
            self._restore_signal_handlers(previous_handlers)
            bar.close()
            self.writer.close()

    def _log(self, bar):
        now, steps_then = time.perf_counter(), self._log_clock[1]
        scalars = {'perf/steps_per_s': (self.steps - steps_then) / max(now - self._log_clock[0],
                                                                       1e-9),
                   'replay/size': len(self.replay)}
        self._log_clock = (now, self.steps)
        for name, total in self._log_sums.items():
            group = name.split('_')[0] if name.startswith(('pave_', 'caps_')) else 'learner'
            scalars[f'{group}/{name}'] = total / self._log_count
        self._log_sums, self._log_count = {}, 0
        scalars.update(unstable_scalars(self._unstable_since_log, self._episodes_since_log))
        self._unstable_since_log, self._episodes_since_log = 0, 0
        if self.episode_returns:
            scalars['train/episode_return'] = float(np.mean(self.episode_returns))
            scalars['train/episode_length'] = float(np.mean(self.episode_lengths))
        for name, value in scalars.items():
            self.writer.add_scalar(name, value, self.steps)
        postfix = f"sps={scalars['perf/steps_per_s']:.0f}"
        if 'train/episode_return' in scalars:
            postfix = f"ret={scalars['train/episode_return']:.1f} " + postfix
        postfix = ' '.join([postfix, *unstable_postfix(scalars)])
        bar.set_postfix_str(postfix, refresh=False)

    def _log_evaluation(self, result):
        scalars = {'eval/return': result['return']}
        for name, figure in result['smoothness'].items():
            if figure['value'] is not None:
                scalars[f'eval/{name}'] = figure['value']
        for name, value in (result['critic'] or {}).items():
            if name != 'source':
                scalars[f'critic/{name}'] = value
        for name, value in scalars.items():
            self.writer.add_scalar(name, value, self.steps)

    def close(self):
        """Close the environments."""
        self.task.close()
