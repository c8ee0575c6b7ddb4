"""
Motion clips: the reference motions the imitation environments track.

A clip is two files side by side, ``<name>.yaml`` (a small header) and ``<name>.npz`` (frames):

* header: format_version, name, description, frame_rate_hz, frame_count, duration_s,
  phase_period_s, loop, root_displacement_per_cycle (m, world frame), joint_names (the robot
  configuration's order), units and the generator's settings;
* arrays: root_position (T, 3) m in the world, root_orientation (T, 4) unit quaternions
  [w, x, y, z] from body to world, joint_positions (T, n) rad.

A looping clip stores exactly one cycle: frame T would be frame 0 again, except that the root has
moved by ``root_displacement_per_cycle`` (a world translation; orientation and joints repeat).
So a clip that trots forward loops without a jump in root x and its derivatives are continuous
across the wrap. Phase p in [0, 1) is time / phase_period_s; p >= 1 continues into later cycles,
the root advanced by whole displacements. A non-looping clip plays once: p is clamped to [0, 1],
which spans frames 0 .. T-1.

Velocities are derived at load by central differences (wrapping around for loops, one-sided at
the ends otherwise) in the simulator's RobotState conventions: joint velocities in rad/s, root
linear velocity in the world frame, root angular velocity in the body frame. End-effector
positions (the configuration's foot sites, then its gripper site) come from MuJoCo forward
kinematics, in the body frame.
"""

from dataclasses import dataclass, field

import numpy as np
from sim_bridge.config import load_config
from sim_bridge.simulator import load_model
from smooth_policy_trainer.motion.clip_files import (ARRAY_NAMES, clip_file_paths, ClipError,
                                                     JOINT_LIMIT_TOLERANCE,
                                                     QUATERNION_NORM_TOLERANCE, read_arrays,
                                                     read_header, shipped_clip_path)
from smooth_policy_trainer.motion.joints import check_joint_names, check_limits, onto_robot
from smooth_policy_trainer.motion.kinematics import (end_effector_site_names,
                                                     finite_difference_velocities, RobotKinematics)


@dataclass
class ReferenceSample:
    """Reference quantities at a batch of phases; leading dimensions are the phases' shape."""

    joint_positions: np.ndarray
    joint_velocities: np.ndarray
    root_position: np.ndarray
    root_orientation: np.ndarray
    root_linear_velocity: np.ndarray
    root_angular_velocity: np.ndarray
    end_effector_positions: np.ndarray = None


@dataclass(eq=False)
class MotionClip:
    """
    One motion: stored frames, derived velocities, optional end-effector positions.

    ``end_effector_positions`` is (T, k, 3) in the body frame, named by ``end_effector_names``;
    load_clip fills both from the robot model.
    """

    name: str
    frame_rate_hz: float
    loop: bool
    joint_names: tuple
    root_position: np.ndarray
    root_orientation: np.ndarray
    joint_positions: np.ndarray
    root_displacement_per_cycle: np.ndarray = None
    description: str = ''
    generator: dict = field(default_factory=dict)
    end_effector_names: tuple = ()
    end_effector_positions: np.ndarray = None
    source: str = '<memory>'
    joint_velocities: np.ndarray = field(init=False, repr=False)
    root_linear_velocity: np.ndarray = field(init=False, repr=False)
    root_angular_velocity: np.ndarray = field(init=False, repr=False)

    def __post_init__(self):
        self.joint_names = tuple(self.joint_names)
        self.end_effector_names = tuple(self.end_effector_names)
        self._check_and_normalise()
        self.joint_velocities, self.root_linear_velocity, self.root_angular_velocity = \
            finite_difference_velocities(
                self.joint_positions, self.root_position, self.root_orientation, self.dt,
                self.loop, self.root_displacement_per_cycle)
        self._build_table()

    # -- timing ---------------------------------------------------------------------------------

    @property
    def frame_count(self):
        """Return the number of stored frames T."""
        return self.joint_positions.shape[0]

    @property
    def dt(self):
        """Return the time between frames in seconds."""
        return 1.0 / self.frame_rate_hz

    @property
    def duration_s(self):
        """Return the clip length: one cycle for a loop (T frames), (T - 1) / rate otherwise."""
        return (self.frame_count if self.loop else self.frame_count - 1) / self.frame_rate_hz

    @property
    def phase_period_s(self):
        """Return the seconds per unit of phase (the cycle period of a looping clip)."""
        return self.duration_s

    def phase_at(self, time_s):
        """Phase reached ``time_s`` seconds after phase 0 (continues past 1 for loops)."""
        return np.asarray(time_s, dtype=float) / self.phase_period_s

    # -- sampling -------------------------------------------------------------------------------

    def sample(self, phase):
        """
        Return the reference at ``phase`` (scalar or array), linearly interpolated.

        Looping clips accept any phase; its integer part counts cycles and advances the root
        position by whole cycle displacements. Non-looping clips clamp the phase to [0, 1].
        Quaternions are interpolated with normalised lerp.
        """
        phase = np.asarray(phase, dtype=float)
        frames = self.frame_count
        if self.loop:
            position = phase * frames
            whole = np.floor(position)
            alpha = position - whole
            cycles, index = np.divmod(whole.astype(np.int64), frames)
        else:
            position = np.clip(phase, 0.0, 1.0) * (frames - 1)
            index = np.minimum(np.floor(position).astype(np.int64), frames - 2)
            alpha = position - index
            cycles = np.zeros_like(index)
        values = np.take(self._table, index, axis=0)
        step = np.take(self._table_step, index, axis=0)
        step *= alpha[..., None]
        values += step
        parts = {key: values[..., s] for key, s in self._slices.items()}
        orientation = parts['root_orientation']
        orientation /= np.linalg.norm(orientation, axis=-1, keepdims=True)
        parts['root_position'] += cycles[..., None] * self.root_displacement_per_cycle
        if self.end_effector_positions is not None:
            parts['end_effector_positions'] = parts['end_effector_positions'].reshape(
                phase.shape + self.end_effector_positions.shape[1:])
        return ReferenceSample(**parts)

    def attach_end_effectors(self, model, config):
        """Compute the end-effector positions (body frame) with the robot model's kinematics."""
        self.end_effector_names = end_effector_site_names(config)
        self.end_effector_positions = RobotKinematics(config, model).body_frame_site_positions(
            self.joint_positions, self.end_effector_names)
        self._build_table()
        return self

    def frame_times(self):
        """Time of every stored frame in seconds."""
        return np.arange(self.frame_count) * self.dt

    # -- construction ---------------------------------------------------------------------------

    def _fail(self, message):
        raise ClipError(f'{self.source}: {message}')

    def _check_and_normalise(self):
        rate = self.frame_rate_hz
        if isinstance(rate, bool) or not isinstance(rate, (int, float)) or \
                not np.isfinite(rate) or rate <= 0:
            self._fail(f"field 'frame_rate_hz' must be a positive number of Hz, got {rate!r}")
        self.frame_rate_hz = float(rate)
        n = len(self.joint_names)
        if n == 0 or not all(isinstance(name, str) for name in self.joint_names):
            self._fail("field 'joint_names' must be a non-empty list of joint names")
        arrays = {}
        for name, width in zip(ARRAY_NAMES, (3, 4, n)):
            value = np.asarray(getattr(self, name))
            if value.dtype.kind not in 'fiu':
                self._fail(f"array '{name}' must be numeric, got dtype {value.dtype}")
            value = value.astype(np.float64)
            if value.ndim != 2 or value.shape[1] != width:
                self._fail(f"array '{name}' has shape {value.shape}, expected (T, {width})")
            bad = np.argwhere(~np.isfinite(value))
            if len(bad):
                self._fail(f"array '{name}' has a non-finite value at frame {bad[0][0]}")
            arrays[name] = value
        frames = {value.shape[0] for value in arrays.values()}
        if len(frames) != 1:
            self._fail('arrays disagree on the frame count: '
                       + ', '.join(f'{k} {v.shape[0]}' for k, v in arrays.items()))
        if frames.pop() < 2:
            self._fail('a clip needs at least 2 frames')
        norms = np.linalg.norm(arrays['root_orientation'], axis=1)
        worst = int(np.argmax(np.abs(norms - 1.0)))
        if abs(norms[worst] - 1.0) > QUATERNION_NORM_TOLERANCE:
            self._fail(f"array 'root_orientation' is not a unit quaternion [w, x, y, z] at frame "
                       f'{worst} (norm {norms[worst]:.6f})')
        arrays['root_orientation'] /= norms[:, None]
        for name, value in arrays.items():
            setattr(self, name, value)
        displacement = self.root_displacement_per_cycle
        try:
            displacement = np.zeros(3) if displacement is None else np.asarray(displacement,
                                                                               float)
        except (TypeError, ValueError):
            displacement = np.full(3, np.nan)
        if displacement.shape != (3,) or not np.all(np.isfinite(displacement)):
            self._fail("field 'root_displacement_per_cycle' must be 3 finite numbers (m), got "
                       f'{self.root_displacement_per_cycle!r}')
        if not self.loop and np.any(displacement):
            self._fail("field 'root_displacement_per_cycle' must be zero for a non-looping clip")
        self.root_displacement_per_cycle = displacement
        self.loop = bool(self.loop)
        if self.end_effector_positions is not None:
            ee = np.asarray(self.end_effector_positions, dtype=np.float64)
            expected = (self.frame_count, len(self.end_effector_names), 3)
            if ee.shape != expected:
                self._fail(f'end_effector_positions has shape {ee.shape}, expected {expected}')
            self.end_effector_positions = ee

    def _build_table(self):
        # One row per frame (plus the wrap-around frame for loops) holding every sampled
        # quantity side by side, so sample() is one gather and one lerp for any batch size.
        quat = self.root_orientation.copy()
        columns = {
            'joint_positions': self.joint_positions,
            'joint_velocities': self.joint_velocities,
            'root_position': self.root_position,
            'root_orientation': quat,
            'root_linear_velocity': self.root_linear_velocity,
            'root_angular_velocity': self.root_angular_velocity,
        }
        if self.end_effector_positions is not None:
            columns['end_effector_positions'] = self.end_effector_positions.reshape(
                self.frame_count, -1)
        table = np.concatenate(list(columns.values()), axis=1)
        self._slices, start = {}, 0
        for key, value in columns.items():
            self._slices[key] = slice(start, start + value.shape[1])
            start += value.shape[1]
        if self.loop:
            wrap = table[:1].copy()
            wrap[0, self._slices['root_position']] += self.root_displacement_per_cycle
            table = np.concatenate([table, wrap])
        quat = table[:, self._slices['root_orientation']]
        for k in range(1, len(quat)):  # q and -q are one rotation: keep neighbours on one side
            if np.dot(quat[k - 1], quat[k]) < 0:
                quat[k] *= -1
        self._table = table
        self._table_step = np.diff(table, axis=0)


def check_against_robot(clip, config, model):
    """Raise ClipError unless the clip's joints are the robot's, in order, within limits."""
    def fail(message):
        raise ClipError(f'{clip.source}: {message}')

    check_joint_names(clip.joint_names, config, fail)
    check_limits(clip.joint_names, clip.joint_positions,
                 RobotKinematics(config, model).joint_limits, JOINT_LIMIT_TOLERANCE, fail)


def load_shipped_clip(name, config=None, model=None, joint_remap=None):
    """Load one of the package's clips (see list_shipped_clips) for the given robot."""
    return load_clip(shipped_clip_path(name), config, model, joint_remap)


def load_clip(path, config=None, model=None, joint_remap=None):
    """
    Load and validate a clip; ``path`` is its .yaml, its .npz or their common stem.

    Joint names must be the robot configuration's (the packaged one by default), in order, and
    angles within the model's limits. End-effector positions are computed with the model.
    With ``joint_remap`` (a dict, maybe empty) the clip's joint names first go through the
    robot's joint map updated with it (joints.onto_robot): a clip made for another robot,
    its columns put in this robot's joint order.
    """
    def fail(message):
        raise ClipError(f'{header_path}: {message}')

    header_path, arrays_path = clip_file_paths(path)
    header = read_header(header_path)
    arrays = read_arrays(arrays_path)
    config = config if config is not None else load_config()
    model = model if model is not None else load_model(config)
    if joint_remap is not None:
        try:
            header['joint_names'], arrays['joint_positions'] = onto_robot(
                header['joint_names'], arrays['joint_positions'], config, joint_remap)
        except ValueError as error:
            fail(f"field 'joint_names': {error}")
    check_joint_names(header['joint_names'], config, fail)
    clip = MotionClip(
        name=header['name'], frame_rate_hz=header['frame_rate_hz'], loop=header['loop'],
        joint_names=header['joint_names'], description=header['description'],
        root_displacement_per_cycle=header['root_displacement_per_cycle'],
        generator=header['generator'], source=str(arrays_path), **arrays)
    if clip.frame_count != header['frame_count']:
        raise ClipError(f"{header_path}: field 'frame_count' is {header['frame_count']} but "
                        f'{arrays_path} holds {clip.frame_count} frames')
    for key in ('duration_s', 'phase_period_s'):
        if not np.isclose(header[key], getattr(clip, key), rtol=0, atol=1e-9):
            raise ClipError(f"{header_path}: field '{key}' is {header[key]} s but "
                            f'{clip.frame_count} frames at {clip.frame_rate_hz} Hz '
                            f"({'looping' if clip.loop else 'not looping'}) last "
                            f'{getattr(clip, key)} s')
    check_against_robot(clip, config, model)
    return clip.attach_end_effectors(model, config)
