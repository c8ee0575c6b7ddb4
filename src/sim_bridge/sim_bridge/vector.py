"""
Many independent simulators stepped together, on all cores, for training.

Each environment is a full :class:`~sim_bridge.simulator.Simulator` (its own model copy, so gains
or masses can be randomised per environment) stepped by the same code as the bridge node.
MuJoCo releases the GIL inside ``mj_step``, so a small thread pool keeps every core busy without
the copies and pickling of a process pool.

One control step is one call into the pool: each worker steps its environments, refreshes their
readouts and copies the raw arrays (qpos, qvel, actuator forces, sensors, tracked sites, ground
contact of tracked geoms) into shared (N, ...) buffers. Readouts are then sliced from those
buffers for all environments at once, with no Python loop over environments on the caller's
thread. An environment changed outside step() (a reset) is copied again when next read: each
Simulator counts its state changes, and the buffers remember which count they hold.

An environment whose step MuJoCo reset (see sim_bridge.instability) is reported by step() and
unstable() until it is reset; stepping it again before that raises SimulationUnstable.
"""

from concurrent.futures import ThreadPoolExecutor
import copy
import os

import numpy as np

from sim_bridge.config import load_config
from sim_bridge.physics import DEFAULT_PHYSICS, physics_config, robot_config_for
from sim_bridge.simulator import load_model, RobotState, Simulator


class VectorSimulator:
    """N simulators with batched (N x n_joints) targets and batched RobotState readouts."""

    def __init__(self, num_envs, config=None, seed=0, num_threads=None, physics=DEFAULT_PHYSICS,
                 contact_bodies=()):
        if num_envs < 1:
            raise ValueError(f'num_envs must be >= 1, got {num_envs}')
        config = config if config is not None else load_config()
        self.physics = physics_config(physics)
        self.config = robot_config_for(config, self.physics)
        base_model = load_model(self.config, self.physics, contact_bodies)
        # Independent, reproducible random streams per environment from one seed.
        seeds = np.random.SeedSequence(seed).spawn(num_envs)
        self.envs = [Simulator(config, seed=s, model=copy.deepcopy(base_model), physics=physics)
                     for s in seeds]
        self.num_envs = num_envs
        self.joint_names = self.config.joint_names
        num_threads = num_threads or min(os.cpu_count() or 1, num_envs)
        self._chunks = [c for c in np.array_split(np.arange(num_envs), num_threads) if len(c)]
        self._pool = ThreadPoolExecutor(len(self._chunks)) if len(self._chunks) > 1 else None
        self._allocate_buffers(base_model)
        self.track()

    # -- batched readout buffers -----------------------------------------------------------------

    def _allocate_buffers(self, model):
        n = self.num_envs
        self._time = np.zeros(n)
        self._qpos = np.zeros((n, model.nq))
        self._qvel = np.zeros((n, model.nv))
        self._force = np.zeros((n, model.nu))
        self._sensors = np.zeros((n, model.nsensordata))
        self._versions = np.full(n, -1, dtype=np.int64)

    def track(self, sites=(), ground_geoms=()):
        """Copy these sites' positions and these geoms' ground contact at every step as well."""
        self._site_ids = np.array([self.envs[0]._site_id(s) for s in sites], dtype=int)
        self._sites = np.zeros((self.num_envs, len(self._site_ids), 3))
        self._ground_geoms = np.asarray(ground_geoms, dtype=int)
        self._touching = np.zeros(self.num_envs, dtype=bool)
        self._versions[:] = -1

    def _capture(self, i):
        env = self.envs[i]
        env.refresh_readouts()
        data = env.data
        self._time[i] = data.time
        self._qpos[i] = data.qpos
        self._qvel[i] = data.qvel
        self._force[i] = data.actuator_force
        self._sensors[i] = data.sensordata
        if len(self._site_ids):
            self._sites[i] = data.site_xpos[self._site_ids]
        self._touching[i] = len(self._ground_geoms) > 0 and env.touches_ground(self._ground_geoms)
        self._versions[i] = env.state_version

    def _sync(self):
        stale = [i for i, env in enumerate(self.envs) if env.state_version != self._versions[i]]
        for i in stale:
            self._capture(i)

    # -- stepping --------------------------------------------------------------------------------

    def step(self, joint_targets, late_targets=None, late_substeps=None):
        """
        Advance every environment one control period with its row of joint targets.

        An actuation latency shorter than a control period: with ``late_targets`` (N x
        n_joints) and ``late_substeps`` (N,), environment i holds ``late_targets[i]`` for its
        first ``late_substeps[i]`` physics steps and ``joint_targets[i]`` for the rest.

        Returns [(environment index, InstabilityEvent)] for the environments that went unstable
        in this step (usually empty); they must be reset before the next step.
        """
        clipped = self._checked_targets(joint_targets, 'joint_targets')
        substeps = self.config.substeps
        if late_targets is not None:
            late = self._checked_targets(late_targets, 'late_targets')
            late_steps = np.asarray(late_substeps, dtype=np.int64)
            if late_steps.shape != (self.num_envs,) or np.any(late_steps < 0) or \
                    np.any(late_steps > substeps):
                raise ValueError(f'late_substeps must be {self.num_envs} integers in [0, '
                                 f'{substeps}], got {late_substeps!r}')

        events = []

        def step_chunk(ids):
            for i in ids:
                env = self.envs[i]
                event = None
                if late_targets is not None and late_steps[i]:
                    env.hold_targets(late[i])
                    event = env._advance(int(late_steps[i]))
                    rest = substeps - int(late_steps[i])
                else:
                    rest = substeps
                if event is None and rest:
                    env.hold_targets(clipped[i])
                    event = env._advance(rest)
                if event is not None:
                    events.append((int(i), event))   # list.append is atomic under the GIL
                # Every caller reads after stepping: refresh and copy here, on the workers.
                self._capture(i)

        self._run(step_chunk)
        return sorted(events, key=lambda item: item[0])

    def _checked_targets(self, joint_targets, name):
        joint_targets = np.asarray(joint_targets, dtype=float)
        expected = (self.num_envs, len(self.joint_names))
        if joint_targets.shape != expected:
            raise ValueError(f'{name} must have shape {expected}, got {joint_targets.shape}')
        bad = ~np.isfinite(joint_targets)
        if bad.any():
            env, joint = np.argwhere(bad)[0]
            raise ValueError(f'non-finite {name} for environment {env}, joint '
                             f'{self.joint_names[joint]}')
        limits = self.envs[0].joint_limits
        return np.clip(joint_targets, limits[:, 0], limits[:, 1])

    def unstable(self):
        """Return, per environment, whether it went unstable and has not been reset since."""
        return np.fromiter((env.instability is not None for env in self.envs), dtype=bool,
                           count=self.num_envs)

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

    # -- readouts --------------------------------------------------------------------------------

    def read_state(self):
        """Return every environment's RobotState stacked along a leading axis (copies)."""
        self._sync()
        first = self.envs[0]
        if first.config.imu_sensors is None:   # IMU from frames: per environment
            states = [env.read_state() for env in self.envs]
            return RobotState(**{name: np.array([getattr(s, name) for s in states])
                                 for name in RobotState.__dataclass_fields__})
        root_q, root_v = first._root_qpos, first._root_dof
        imu = first._imu_slices
        return RobotState(
            time=self._time.copy(),
            joint_positions=self._qpos[:, first._qpos_ids],
            joint_velocities=self._qvel[:, first._dof_ids],
            joint_efforts=self._force[:, first._actuator_ids],
            imu_orientation=self._sensors[:, imu['orientation']].copy(),
            imu_angular_velocity=self._sensors[:, imu['angular_velocity']].copy(),
            imu_linear_acceleration=self._sensors[:, imu['linear_acceleration']].copy(),
            base_position=self._qpos[:, root_q:root_q + 3].copy(),
            base_orientation=self._qpos[:, root_q + 3:root_q + 7].copy(),
            base_linear_velocity=self._qvel[:, root_v:root_v + 3].copy(),
            base_angular_velocity=self._qvel[:, root_v + 3:root_v + 6].copy(),
        )

    def site_positions(self):
        """Return the tracked sites' world positions, (N, k, 3) (see track)."""
        self._sync()
        return self._sites.copy()

    def touching_ground(self):
        """Return, per environment, whether any tracked geom touches the world body (see track)."""
        self._sync()
        return self._touching.copy()

    def close(self):
        """Stop the worker threads."""
        if self._pool is not None:
            self._pool.shutdown()
            self._pool = None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
