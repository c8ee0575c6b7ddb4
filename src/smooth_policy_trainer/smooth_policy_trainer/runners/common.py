"""
What the PPO and the off-policy runners share.

Run directories (a fresh one refuses to overwrite a run), seeding (torch's global RNG and one
torch generator per use, each seeded from run.seed, so a checkpoint can save every stream), the
start of train() (config.yaml and the TensorBoard writer), the stop-on-signal protocol (the first
SIGINT/SIGTERM asks to stop after the iteration in progress, a second raises KeyboardInterrupt)
and the run's provenance (git revision).
"""

from pathlib import Path
import signal
import subprocess
import threading

import numpy as np
from smooth_policy_trainer.runners.checkpoint import CHECKPOINT_DIR
import torch


def git_revision():
    """Return ``git rev-parse HEAD`` of the checkout holding this file, or 'unknown'."""
    try:
        result = subprocess.run(['git', 'rev-parse', 'HEAD'], cwd=Path(__file__).parent,
                                capture_output=True, text=True, timeout=10, check=True)
    except (OSError, subprocess.SubprocessError):
        return 'unknown'
    return result.stdout.strip() or 'unknown'


def fresh_run_dir(log_dir, name):
    """Return <log_dir>/<name>, refusing a directory that already holds a run."""
    run_dir = Path(log_dir) / name
    if (run_dir / CHECKPOINT_DIR).exists():
        raise FileExistsError(f'{run_dir} already holds a run; continue it with --resume '
                              f'{run_dir} or choose another run.run_name')
    return run_dir


def seed_torch(seed, threads):
    """Set torch's thread count and seed its global RNG (initial weights are drawn from it)."""
    torch.set_num_threads(threads)
    torch.manual_seed(seed)


def make_generators(seed, names):
    """Return {name: torch.Generator}, one stream per use, each seeded from ``seed``."""
    seeds = np.random.SeedSequence(seed).generate_state(len(names))
    return {name: torch.Generator().manual_seed(int(value)) for name, value in zip(names, seeds)}


def open_run(run_dir, config_text, purge_step):
    """Create the run directory, write config.yaml; return a TensorBoard SummaryWriter."""
    run_dir.mkdir(parents=True, exist_ok=True)
    (run_dir / 'config.yaml').write_text(config_text)
    from torch.utils.tensorboard import SummaryWriter  # slow import, only when training
    # purge_step drops events a crashed run logged past its last checkpoint.
    return SummaryWriter(str(run_dir), purge_step=purge_step)


class StopOnSignal:
    """The stop protocol of both runners; the runner sets ``_stop_requested = False``."""

    def request_stop(self, signum=None, frame=None):
        """Signal handler: finish this iteration, save, stop; a second request stops now."""
        if self._stop_requested:
            raise KeyboardInterrupt
        self._stop_requested = True
        name = signal.Signals(signum).name if signum else 'stop request'
        print(f'\n{name}: finishing this iteration, then saving a checkpoint '
              '(send it again to stop at once)', flush=True)

    def _install_signal_handlers(self):
        if threading.current_thread() is not threading.main_thread():
            return {}
        previous = {}
        for signum in (signal.SIGINT, signal.SIGTERM):
            previous[signum] = signal.signal(signum, self.request_stop)
        return previous

    @staticmethod
    def _restore_signal_handlers(previous):
        for signum, handler in previous.items():
            signal.signal(signum, handler)


def unstable_scalars(unstable, episodes):
    """Return the 'train/' scalars of the episodes MuJoCo's instability ended in a rollout."""
    return {'train/unstable_episodes': float(unstable),
            'train/unstable_episode_fraction': unstable / episodes if episodes else 0.0}


def unstable_postfix(scalars):
    """Return the progress line's part on unstable episodes: nothing while there are none."""
    count = scalars.get('train/unstable_episodes', 0)
    if not count:
        return []
    return [f"unstable={count:.0f} ({100 * scalars['train/unstable_episode_fraction']:.1f}% "
            'of episodes)']
