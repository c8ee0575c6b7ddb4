"""
One run of the smoothness study: train until the clip's world targets are met, or to the cap.

    python -m smooth_policy_trainer.runners.study_run SPEC.json RECORD.json

The study (study.py) starts one such process per run, itself or inside a Ray task, so each run's
peak memory is its own process's. SPEC holds the run's task, method, seed, config and overrides,
the cap and the evaluation settings (study.py's run_spec). Every ``eval_every`` iterations, and
at the cap, the current actor is exported and evaluated deterministically through the numpy
runtime (evaluate.evaluate_policy, the runner's evaluation seed); the first evaluation that meets
every target of the clip (study_grid.TASKS) is the run's time to target, and the run stops there
unless ``train_past_target``. The record (RECORD.json, written atomically) holds time to target,
the figures at the target and at the cap, the learning curves and the cost.

Times: ``train_s`` counts rollouts and updates only (what an iteration costs), ``wall_s`` also the
evaluations and checkpoints. A checkpoint and the curves so far (progress.json) are saved every
``checkpoint_every`` iterations and at each evaluation; a run that was killed resumes from them
with the same iterations (Runner.resume is exact), and a run whose cap is raised continues.
SIGTERM or SIGINT saves and exits with status 130.
"""

import json
import os
from pathlib import Path
import platform
import resource
import signal
import sys
import time

from lpn_controller.policy_format import save_policy
from smooth_policy_trainer.config.reader import config_to_dict, dump_config
from smooth_policy_trainer.config.train_config import load_config
from smooth_policy_trainer.evaluation.evaluate import evaluate_policy
from smooth_policy_trainer.evaluation.study_grid import (evaluation_figures, METHODS, TASKS,
                                                         time_to_target, unmet_targets)
from smooth_policy_trainer.networks.export import build_policy
from smooth_policy_trainer.runners.checkpoint import CHECKPOINT_DIR
from smooth_policy_trainer.runners.ppo_runner import EVAL_SEED, Runner

RECORD_FORMAT = 'smoothness-study-run'
RECORD_VERSION = 1
PROGRESS = 'progress.json'
INTERRUPTED = 130


def write_json_atomically(path, data):
    """Write ``data`` as JSON to ``path`` via a temporary file and os.replace."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f'.{path.name}.{os.getpid()}.tmp')
    temporary.write_text(json.dumps(data, indent=1) + '\n')
    os.replace(temporary, path)
    return path


def _round(value, digits=5):
    """Round to ``digits`` significant digits (keeps the record small); None stays None."""
    return None if value is None else float(f'{value:.{digits}g}')


class StudyRun:
    """Trains one run of the study to its targets (or cap) and returns its record."""

    def __init__(self, spec):
        self.spec = spec
        self.run_dir = Path(spec['run_dir'])
        self.targets = TASKS[spec['task']].targets
        self.stop_requested = False
        checkpoints = self.run_dir / CHECKPOINT_DIR
        progress = self.run_dir / PROGRESS
        if progress.is_file() and any(checkpoints.glob('iteration_*.pt')):
            self.runner = Runner.resume(self.run_dir, spec['cap'], progress=False)
            self.progress = self._progress_at(json.loads(progress.read_text()),
                                              self.runner.iteration)
            self.progress['resumed'] += 1
        else:
            config = load_config(spec['config'], spec['overrides'])
            config.run.iterations = spec['cap']
            self.runner = Runner(config, self.run_dir, progress=False)
            self.progress = {'iteration': 0, 'train_s': 0.0, 'wall_s': 0.0, 'resumed': 0,
                             'curve': {'iteration': [], 'env_steps': [], 'train_s': [],
                                       'wall_s': [], 'return': []},
                             'evaluations': []}
        config = self.runner.config
        self.steps_per_iteration = config.ppo.num_steps * config.env.num_envs

    @staticmethod
    def _progress_at(progress, iteration):
        """Return the saved progress cut back to ``iteration`` (the checkpoint resumed from)."""
        curve = progress['curve']
        keep = [index for index, it in enumerate(curve['iteration']) if it <= iteration]
        progress['curve'] = {name: [values[i] for i in keep] for name, values in curve.items()}
        progress['evaluations'] = [evaluation for evaluation in progress['evaluations']
                                   if evaluation['iteration'] <= iteration]
        return progress

    def request_stop(self, signum=None, frame=None):
        """Signal handler: finish this iteration, save, stop."""
        self.stop_requested = True

    def evaluate(self, wall_s):
        """Evaluate the current actor; returns the study's entry for it (figures, unmet)."""
        runner, spec = self.runner, self.spec
        policy = build_policy(runner.ppo.actor, runner.normalizer, runner.env.policy_metadata(),
                              config_to_dict(runner.config), runner.git_revision)
        result = evaluate_policy(policy, runner.config.env, spec['eval_episodes'],
                                 spec['eval_seconds'], seed=EVAL_SEED)
        write_json_atomically(self.run_dir / 'evaluations' /
                              f'iteration_{runner.iteration:06d}.json', result)
        figures = {name: _round(value) for name, value in evaluation_figures(result).items()}
        unmet = unmet_targets(figures, self.targets)
        return {'iteration': runner.iteration,
                'env_steps': runner.iteration * self.steps_per_iteration,
                'train_s': _round(self.progress['train_s'], 6), 'wall_s': _round(wall_s, 6),
                'met': not unmet, 'unmet': unmet, 'figures': figures}, policy

    def save(self, wall_s):
        """Checkpoint the runner (only the latest is kept) and the progress that matches it."""
        path = self.runner.save()
        for old in (self.run_dir / CHECKPOINT_DIR).glob('iteration_*.pt'):
            if old != path:
                old.unlink()
        self.progress.update(iteration=self.runner.iteration, wall_s=wall_s)
        write_json_atomically(self.run_dir / PROGRESS, self.progress)

    def train(self):
        """Train to the target or the cap; returns the record (or None when interrupted)."""
        spec, runner, progress = self.spec, self.runner, self.progress
        self.run_dir.mkdir(parents=True, exist_ok=True)
        (self.run_dir / 'config.yaml').write_text(dump_config(runner.config))
        started, wall_before = time.perf_counter(), progress['wall_s']

        def wall():
            return wall_before + time.perf_counter() - started

        reached = any(evaluation['met'] for evaluation in progress['evaluations'])
        while runner.iteration < spec['cap'] and not (reached and
                                                      not spec['train_past_target']):
            began = time.perf_counter()
            scalars = runner.step()
            progress['train_s'] += time.perf_counter() - began
            iteration, last = runner.iteration, runner.iteration == spec['cap']
            if iteration % spec['curve_every'] == 0 or last:
                self._add_curve_point(scalars.get('train/episode_return'), wall())
            if iteration % spec['eval_every'] == 0 or last:
                evaluation, policy = self.evaluate(wall())
                progress['evaluations'].append(evaluation)
                if evaluation['met'] and not reached:
                    reached = True
                    save_policy(self.run_dir / 'policy_at_target', policy.metadata,
                                policy.weights)
                self.save(wall())
            elif iteration % spec['checkpoint_every'] == 0 or self.stop_requested:
                self.save(wall())
            if self.stop_requested and runner.iteration < spec['cap']:
                return None
        policy = build_policy(runner.ppo.actor, runner.normalizer, runner.env.policy_metadata(),
                              config_to_dict(runner.config), runner.git_revision)
        save_policy(self.run_dir / 'policy', policy.metadata, policy.weights)
        progress['wall_s'] = wall()
        return self.record()

    def _add_curve_point(self, episode_return, wall_s):
        curve, iteration = self.progress['curve'], self.runner.iteration
        curve['iteration'].append(iteration)
        curve['env_steps'].append(iteration * self.steps_per_iteration)
        curve['train_s'].append(_round(self.progress['train_s'], 6))
        curve['wall_s'].append(_round(wall_s, 6))
        curve['return'].append(_round(episode_return))

    def record(self):
        """Return the run's record: time to target, figures at target and cap, curves, cost."""
        spec, progress, runner = self.spec, self.progress, self.runner
        evaluations = progress['evaluations']
        to_target = time_to_target(evaluations, self.targets)
        at_target = next((e for e in evaluations if e['met']), None)
        last = evaluations[-1] if evaluations else None
        at_cap = last if last is not None and last['iteration'] == spec['cap'] else None
        iterations = runner.iteration
        return {
            'format': RECORD_FORMAT, 'version': RECORD_VERSION,
            'task': spec['task'], 'method': spec['method'],
            'label': METHODS[spec['method']][0] if spec['method'] in METHODS else spec['method'],
            'seed': spec['seed'], 'config': spec['config'], 'overrides': spec['overrides'],
            'targets': [str(target) for target in self.targets],
            'cap_iterations': spec['cap'], 'eval_every': spec['eval_every'],
            'eval_episodes': spec['eval_episodes'], 'eval_seconds': spec['eval_seconds'],
            'train_past_target': spec['train_past_target'],
            'num_envs': runner.config.env.num_envs,
            'env_steps_per_iteration': self.steps_per_iteration,
            'reached': at_target is not None,
            'stopped': 'cap' if iterations >= spec['cap'] else 'target',
            **to_target,
            'figures_at_target': at_target and at_target['figures'],
            'figures_at_cap': at_cap and at_cap['figures'],
            'unmet_at_cap': at_cap and at_cap['unmet'],
            'iterations': iterations, 'env_steps': iterations * self.steps_per_iteration,
            'train_s': _round(progress['train_s'], 6), 'wall_s': _round(progress['wall_s'], 6),
            's_per_iteration': _round(progress['train_s'] / max(iterations, 1)),
            # This process's peak (a resumed run: its last part's); KiB on Linux.
            'peak_rss_mib': _round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0),
            'resumed': progress['resumed'],
            'machine': f'{platform.node()}: {platform.processor() or platform.machine()}, '
                       f'{os.cpu_count()} cores, {platform.system()}',
            'git_revision': runner.git_revision,
            'curve': progress['curve'], 'evaluations': evaluations,
        }

    def close(self):
        """Stop the simulator threads."""
        self.runner.close()


def main(argv=None):
    """Command line entry point: run SPEC, write RECORD; returns the exit status."""
    argv = sys.argv[1:] if argv is None else argv
    if len(argv) != 2:
        print('usage: python -m smooth_policy_trainer.runners.study_run SPEC.json RECORD.json',
              file=sys.stderr)
        return 2
    spec = json.loads(Path(argv[0]).read_text())
    run = StudyRun(spec)
    previous = {signum: signal.signal(signum, run.request_stop)
                for signum in (signal.SIGINT, signal.SIGTERM)}
    try:
        print(f"{spec['name']}: from iteration {run.runner.iteration} to at most "
              f"{spec['cap']} ({run.steps_per_iteration} env steps each)", flush=True)
        record = run.train()
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)
        run.close()
    if record is None:
        print(f"{spec['name']}: interrupted at iteration {run.runner.iteration}; saved",
              flush=True)
        return INTERRUPTED
    write_json_atomically(argv[1], record)
    print(f"{spec['name']}: {'reached the targets' if record['reached'] else 'not at target'}"
          f" after {record['iterations']} iterations ({record['train_s']:.0f} s training)",
          flush=True)
    return 0


if __name__ == '__main__':
    sys.exit(main())
