"""
Training checkpoints: atomic writes, safe reads with clear errors, the run's latest one.

A checkpoint is a ``torch.save`` file of plain types and tensors only, so it loads with
``weights_only=True`` (no arbitrary pickles). numpy arrays (the environment state) are stored as
tensors and come back as numpy arrays; tensors from numpy round-trip bit for bit.
"""

import os
from pathlib import Path
import re

import numpy as np
import torch

FORMAT = 'smooth_policy_trainer.checkpoint'
FORMAT_VERSION = 1
REQUIRED_KEYS = ('format', 'format_version', 'iteration', 'config', 'ppo', 'normalizer', 'task')
CHECKPOINT_DIR = 'checkpoints'
_NAME = re.compile(r'^iteration_(\d+)\.pt$')


class CheckpointError(RuntimeError):
    """A checkpoint is missing, unreadable or incomplete; the message names the file."""


def checkpoint_path(run_dir, iteration):
    """Return where the checkpoint of ``iteration`` completed iterations goes."""
    return Path(run_dir) / CHECKPOINT_DIR / f'iteration_{iteration:06d}.pt'


def latest_checkpoint(run_dir):
    """Return the run's checkpoint with the most completed iterations."""
    run_dir = Path(run_dir)
    if not run_dir.is_dir():
        raise CheckpointError(f'{run_dir}: no such run directory')
    found = sorted((int(match.group(1)), path)
                   for path in (run_dir / CHECKPOINT_DIR).glob('iteration_*.pt')
                   if (match := _NAME.match(path.name)))
    if not found:
        raise CheckpointError(f'{run_dir}: no checkpoints in {run_dir / CHECKPOINT_DIR} '
                              '(expected iteration_NNNNNN.pt files)')
    return found[-1][1]


def save_checkpoint(state, path):
    """
    Write ``state`` atomically: a temporary file in the same folder, fsync, os.replace.

    A crash or a signal mid-write leaves the previous checkpoint intact and no partial file
    under the final name.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f'.{path.name}.{os.getpid()}.tmp')
    try:
        with open(temporary, 'wb') as file:
            torch.save(_to_tensors(state), file)
            file.flush()
            os.fsync(file.fileno())
        os.replace(temporary, path)
    finally:
        if temporary.exists():
            temporary.unlink()
    # The rename itself is durable only once the folder is synced.
    folder = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(folder)
    finally:
        os.close(folder)
    return path


def load_checkpoint(path, required_keys=REQUIRED_KEYS):
    """
    Read a checkpoint (a file, or a run directory for its latest); raise CheckpointError.

    ``required_keys`` are the keys the reader needs (the off-policy runner's differ from PPO's).
    """
    path = Path(path)
    if path.is_dir():
        path = latest_checkpoint(path)
    if not path.is_file():
        raise CheckpointError(f'{path}: no such checkpoint file or run directory')
    try:
        state = torch.load(path, map_location='cpu', weights_only=True)
    except Exception as error:  # torch raises many kinds for truncated or foreign files
        raise CheckpointError(f'{path}: not a readable checkpoint (truncated or corrupt?): '
                              f'{type(error).__name__}: {error}') from None
    if not isinstance(state, dict) or state.get('format') != FORMAT:
        raise CheckpointError(f'{path}: not a smooth_policy_trainer checkpoint')
    missing = [key for key in required_keys if key not in state]
    if missing:
        raise CheckpointError(f'{path}: incomplete checkpoint, missing {", ".join(missing)}')
    if state['format_version'] != FORMAT_VERSION:
        raise CheckpointError(f'{path}: checkpoint version {state["format_version"]} is not '
                              f'supported (this trainer reads {FORMAT_VERSION})')
    state['path'] = str(path)
    return state


def to_numpy(value):
    """Turn the tensors of a loaded nested structure back into numpy arrays (env state)."""
    if isinstance(value, torch.Tensor):
        return value.numpy().copy()
    if isinstance(value, dict):
        return {key: to_numpy(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return type(value)(to_numpy(item) for item in value)
    return value


def _to_tensors(value):
    if isinstance(value, np.ndarray):
        return torch.from_numpy(np.ascontiguousarray(value).copy())
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, dict):
        return {key: _to_tensors(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return type(value)(_to_tensors(item) for item in value)
    return value
