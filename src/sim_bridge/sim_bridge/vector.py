"""
Many independent simulators stepped together, on all cores, for training.

Each environment is a full :class:`~sim_bridge.simulator.Simulator` (its own model copy, so gains
or masses can be randomised per environment) stepped by the same code as the bridge node.
MuJoCo releases the GIL inside ``mj_step``, so a small thread pool keeps every core busy without
the copies and pickling of a process pool.
"""

from concurrent.futures import ThreadPoolExecutor
import copy
import os

import numpy as np

from sim_bridge.config import load_config
from sim_bridge.simulator import load_model, RobotState, Simulator


class VectorSimulator:
    """N simulators with batched (N x n_joints) targets and batched RobotState readouts."""

    def __init__(self, num_envs, config=None, seed=0, num_threads=None):
        if num_envs < 1:
            raise ValueError(f'num_envs must be >= 1, got {num_envs}')
        self.config = config if config is not None else load_config()
        base_model = load_model(self.config)
        # Independent, reproducible random streams per environment from one seed.
        seeds = np.random.SeedSequence(seed).spawn(num_envs)
        self.envs = [Simulator(self.config, seed=s, model=copy.deepcopy(base_model))
                     for s in seeds]
        self.num_envs = num_envs
        self.joint_names = self.config.joint_names
        num_threads = num_threads or min(os.cpu_count() or 1, num_envs)
        self._chunks = [c for c in np.array_split(np.arange(num_envs), num_threads) if len(c)]
        self._pool = ThreadPoolExecutor(len(self._chunks)) if len(self._chunks) > 1 else None

    def step(self, joint_targets):
        """Advance every environment one control period with its row of joint targets."""
        joint_targets = np.asarray(joint_targets, dtype=float)
        expected = (self.num_envs, len(self.joint_names))
        if joint_targets.shape != expected:
            raise ValueError(f'joint_targets must have shape {expected}, got '
                             f'{joint_targets.shape}')

        def step_chunk(ids):
            for i in ids:
                self.envs[i].step(joint_targets[i])
                # Every caller reads after stepping: refresh here, on the worker threads.
                self.envs[i].refresh_readouts()

        self._run(step_chunk)

    def _run(self, work):
        if self._pool is None:
            work(self._chunks[0])
        else:
            for future in [self._pool.submit(work, ids) for ids in self._chunks]:
                future.result()

    def reset(self, env_ids=None, **reset_kwargs):
        """Reset the given environments (all by default); arguments as Simulator.reset."""
        ids = range(self.num_envs) if env_ids is None else env_ids
        for i in ids:
            self.envs[i].reset(**reset_kwargs)

    def read_state(self):
        """Stack every environment's RobotState along a leading axis (time becomes an array)."""
        states = [env.read_state() for env in self.envs]
        return RobotState(**{name: np.array([getattr(s, name) for s in states])
                             for name in RobotState.__dataclass_fields__})

    def close(self):
        """Stop the worker threads."""
        if self._pool is not None:
            self._pool.shutdown()
            self._pool = None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
