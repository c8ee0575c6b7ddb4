"""
Train one run in its own process (or reuse it), and evaluate its exported policy once.

The fixed-budget helpers of the bench scripts that compare training variants
(task_formulation.py, sim_to_sim.py, normalizer_ablation.py, randomization_ablation.py):
``train_run`` trains ``python -m smooth_policy_trainer.train`` from a base config with a study
method's switches (smooth_policy_trainer.evaluation.study_grid.METHODS) for
``args.iterations``, skipping a finished run and resuming an interrupted one from its
checkpoint; ``evaluate_run`` evaluates the exported policy once with the one evaluation and
keeps its action spectrum. The smoothness study
itself trains to targets instead: ``python -m smooth_policy_trainer.study``.
"""

import json
import os
import subprocess
import sys
import time

import numpy as np
from smooth_policy_trainer.evaluation.study_grid import BASE_CONFIG, METHODS

SPECTRUM_SEGMENT = 64   # samples per Welch segment in the plots: 0.78 Hz bins at 50 Hz


def train_run(run_dir, task, method, seed, args):
    """
    Train (or resume, or skip) one run; returns its process figures.

    ``args.config`` (when present) replaces BASE_CONFIG for PPO runs; ``method`` None trains
    that config as it is, with no method switches.
    """
    record = run_dir / 'study_run.json'
    if (run_dir / 'policy').is_dir() and record.is_file():
        return json.loads(record.read_text())
    naming = [f'env.clip={task}', f'env.seed={seed}', f'run.seed={seed}',
              f'run.log_dir={run_dir.parent}', f'run.run_name={run_dir.name}']
    config = getattr(args, 'config', BASE_CONFIG)
    budget = ['--iterations', str(args.iterations)]
    switches = METHODS[method][1] if method is not None else ()
    overrides = [*naming, f'env.num_envs={args.num_envs}', 'run.eval_every=0', *switches,
                 *args.extra]
    command = [sys.executable, '-m', 'smooth_policy_trainer.train', '--no-progress']
    if (run_dir / 'checkpoints').is_dir():
        command += ['--resume', str(run_dir), *budget]
    else:
        command += ['--config', config, *budget,
                    *(part for item in overrides for part in ('--set', item))]
    run_dir.parent.mkdir(parents=True, exist_ok=True)
    start = time.perf_counter()
    with open(run_dir.parent / f'{run_dir.name}.log', 'a') as log:
        process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT)
        # wait4 gives this child's own peak RSS (KiB on Linux), not the study's.
        _, status, usage = os.wait4(process.pid, 0)
    code = os.waitstatus_to_exitcode(status)
    if code != 0:
        raise RuntimeError(f'{task}/{method}/{run_dir.name}: training exited with {code}; see '
                           f'{run_dir.parent / (run_dir.name + ".log")}')
    figures = {'train_wall_s': time.perf_counter() - start,
               'peak_rss_mib': usage.ru_maxrss / 1024.0}
    record.write_text(json.dumps(figures, indent=2) + '\n')
    return figures


def evaluate_run(run_dir, args):
    """Evaluate a run's exported policy once; returns the figures (actions kept on disk)."""
    # Imported here: the study's own process stays light while the children train.
    from lpn_controller.metrics import power_spectral_density
    from lpn_controller.policy_format import load_policy
    from smooth_policy_trainer.evaluation.evaluate import env_config_for, evaluate_policy
    path = run_dir / 'evaluation.json'
    if path.is_file() and (run_dir / 'spectrum.npz').is_file():
        return json.loads(path.read_text())
    policy = load_policy(run_dir / 'policy')
    result = evaluate_policy(policy, env_config_for(policy), args.eval_episodes,
                             args.eval_seconds, keep_actions=True)
    spectra = [power_spectral_density(actions, result['sample_rate_hz'], SPECTRUM_SEGMENT)
               for actions in result.pop('actions') if len(actions) >= SPECTRUM_SEGMENT]
    if spectra:
        frequencies = spectra[0][0]
        power = np.mean([p.mean(axis=1) for _, p in spectra], axis=0)  # over joints, episodes
    else:  # every episode fell before one segment
        frequencies, power = np.zeros(0), np.zeros(0)
    np.savez(run_dir / 'spectrum.npz', frequencies=frequencies, power=power)
    path.write_text(json.dumps(result, indent=2) + '\n')
    return result
