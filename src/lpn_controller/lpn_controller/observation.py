"""
Policy observation builder: the one place robot state becomes a policy observation.

The controller node and the trainer's environment both call :class:`ObservationBuilder` (or the
:func:`build_observation` wrapper), so the observation a policy sees on the robot is the one it
was trained on.

Conventions (shared with sim_bridge):

* quaternions are ``[w, x, y, z]`` (MuJoCo order), body-to-world rotation;
* angular velocity is in the body frame, rad/s;
* base linear velocity is in the body frame, m/s (a ``nav_msgs/Odometry`` twist on the robot, an
  estimate: the trainer randomises its noise, bias and latency);
* heading is the yaw turned since the policy started (the IMU orientation's yaw minus its yaw at
  engagement): the only way a policy can see, and so undo, the heading it has drifted by, since
  gravity and angular velocity do not show yaw;
* base position is the horizontal distance moved since the policy started (odometry pose), in
  the frame of the odometry heading at engagement (x along, y across): for motions that hold
  their place (hop, arm circle), the one input from which a policy can see, and so undo, the
  distance it has crept; a velocity shows the creep only as it happens, never its sum;
* joint positions are absolute, rad; joint velocities rad/s;
* every input may carry leading batch dimensions, e.g. ``(num_envs, num_joints)``; the last axis
  is the quantity's own axis and the output is ``(*batch, observation_size)``.

The phase is not an observation term: runtimes take it as a separate input (see runtime.py).
"""

from dataclasses import dataclass
from typing import Optional, Sequence, Tuple, Union

from lpn_controller.rotations import heading_frame, projected_gravity, wrap_angle, yaw_angle
import numpy as np

PROJECTED_GRAVITY = 'projected_gravity'
BASE_ANGULAR_VELOCITY = 'base_angular_velocity'
BASE_LINEAR_VELOCITY = 'base_linear_velocity'
JOINT_POSITIONS = 'joint_positions'
JOINT_VELOCITIES = 'joint_velocities'
PREVIOUS_ACTION = 'previous_action'
HEADING = 'heading'
BASE_POSITION = 'base_position'
COMMAND = 'command'

#: Every observation term the builder knows, with its meaning and unit before scaling.
TERM_DESCRIPTIONS = {
    PROJECTED_GRAVITY: 'unit gravity direction in the body frame (from the orientation)',
    BASE_ANGULAR_VELOCITY: 'body-frame angular velocity, rad/s',
    BASE_LINEAR_VELOCITY: 'body-frame base linear velocity, m/s (odometry twist)',
    HEADING: 'yaw turned since the policy started, rad in [-pi, pi) (IMU orientation)',
    BASE_POSITION: 'horizontal distance moved since the policy started, m, in the frame of the '
                   'heading then (odometry pose)',
    JOINT_POSITIONS: 'joint positions minus the default pose, rad',
    JOINT_VELOCITIES: 'joint velocities, rad/s',
    PREVIOUS_ACTION: 'the policy action of the previous step (raw policy units)',
    COMMAND: 'task command, caller-defined units',
}
TERM_NAMES = tuple(TERM_DESCRIPTIONS)

#: Terms read from an input beyond joint states and the IMU, with the input that supplies them.
#: A controller that cannot supply one must refuse the policy (see controller.missing_inputs).
EXTRA_INPUTS = {
    COMMAND: 'command',
    BASE_LINEAR_VELOCITY: 'odometry',
    BASE_POSITION: 'odometry',
}


@dataclass(frozen=True)
class ObservationTerm:
    """
    One named slice of the observation: ``observation[slice] = scale * term_value``.

    ``scale`` is a float or one float per element (a tuple of length ``size``).
    """

    name: str
    size: int
    scale: Union[float, Tuple[float, ...]] = 1.0


def expected_term_size(name: str, num_joints: int) -> Optional[int]:
    """
    Return the size a term must have for a robot with ``num_joints`` joints.

    Returns None for ``command``, whose size is free (any positive integer).
    Raises KeyError for an unknown term name.
    """
    sizes = {
        PROJECTED_GRAVITY: 3,
        BASE_ANGULAR_VELOCITY: 3,
        BASE_LINEAR_VELOCITY: 3,
        HEADING: 1,
        BASE_POSITION: 2,
        JOINT_POSITIONS: num_joints,
        JOINT_VELOCITIES: num_joints,
        PREVIOUS_ACTION: num_joints,
        COMMAND: None,
    }
    return sizes[name]


def heading_change(orientation: np.ndarray, heading_origin) -> np.ndarray:
    """Return the yaw of ``orientation`` minus ``heading_origin`` (rad), wrapped to [-pi, pi)."""
    return wrap_angle(yaw_angle(orientation) - np.asarray(heading_origin, dtype=np.float64))


def position_change(position: np.ndarray, position_origin: np.ndarray) -> np.ndarray:
    """
    Return the horizontal displacement of ``position`` since ``position_origin``, ``(..., 2)``.

    ``position`` is a world (odom-frame) position ``(..., 2 or 3)``; ``position_origin`` is
    ``[x, y, yaw]`` ``(..., 3)`` at the start: the displacement is returned in the frame of that
    yaw (x along the heading, y to its left).
    """
    position = np.asarray(position, dtype=np.float64)
    origin = np.asarray(position_origin, dtype=np.float64)
    along, across = heading_frame(position[..., :2] - origin[..., :2], origin[..., 2])
    return np.stack([along, across], axis=-1)


def motion_phase(time_s, start_time_s, period_s: float):
    """Return the motion phase ``((time_s - start_time_s) / period_s) mod 1`` in ``[0, 1)``."""
    if not period_s > 0.0:
        raise ValueError(f'motion phase period must be positive, got {period_s}')
    return np.mod((np.asarray(time_s, dtype=np.float64) - start_time_s) / period_s, 1.0)


class ObservationBuilder:
    """
    Build observations for one observation layout and default pose.

    Construct once (it precomputes slices and scales), then call :meth:`build` every step or on
    every batch of environments.
    """

    def __init__(self, terms: Sequence[ObservationTerm], default_pose: np.ndarray):
        """Check the layout against the default pose (which fixes the joint count)."""
        self.default_pose = np.asarray(default_pose, dtype=np.float64)
        if self.default_pose.ndim != 1:
            raise ValueError('default_pose must be a 1-D array (one entry per joint)')
        self.num_joints = self.default_pose.shape[0]
        self.terms = tuple(terms)
        self._slices = []
        offset = 0
        seen = set()
        for term in self.terms:
            if term.name not in TERM_DESCRIPTIONS:
                raise ValueError(f'unknown observation term {term.name!r}; known terms: '
                                 f'{", ".join(TERM_NAMES)}')
            if term.name in seen:
                raise ValueError(f'observation term {term.name!r} appears twice')
            seen.add(term.name)
            expected = expected_term_size(term.name, self.num_joints)
            if (expected is not None and term.size != expected) or term.size < 1:
                raise ValueError(
                    f'observation term {term.name!r} has size {term.size}, expected '
                    f'{expected if expected is not None else "a positive size"}')
            scale = np.asarray(term.scale, dtype=np.float64)
            if scale.ndim not in (0, 1) or (scale.ndim == 1 and scale.shape[0] != term.size):
                raise ValueError(
                    f'observation term {term.name!r}: scale must be a number or {term.size} '
                    'numbers')
            self._slices.append((term.name, slice(offset, offset + term.size), scale))
            offset += term.size
        self.size = offset
        self.uses_command = COMMAND in seen
        self.uses_linear_velocity = BASE_LINEAR_VELOCITY in seen
        self.uses_position = BASE_POSITION in seen
        #: The inputs beyond joint states and IMU this layout reads (names of EXTRA_INPUTS).
        self.extra_inputs = tuple(EXTRA_INPUTS[term.name] for term in self.terms
                                  if term.name in EXTRA_INPUTS)

    def term_slice(self, name: str) -> slice:
        """Return where term ``name`` lies in the observation vector."""
        for term_name, term_slice, _ in self._slices:
            if term_name == name:
                return term_slice
        raise KeyError(f'observation layout has no term {name!r}')

    def build(
        self,
        joint_positions: np.ndarray,
        joint_velocities: np.ndarray,
        orientation: np.ndarray,
        angular_velocity: np.ndarray,
        previous_action: np.ndarray,
        command: Optional[np.ndarray] = None,
        out: Optional[np.ndarray] = None,
        linear_velocity: Optional[np.ndarray] = None,
        heading_origin: Optional[np.ndarray] = None,
        position: Optional[np.ndarray] = None,
        position_origin: Optional[np.ndarray] = None,
    ) -> np.ndarray:
        """
        Return the observation, shape ``(*batch, size)``, float64.

        Inputs, each with the same leading batch dimensions: ``joint_positions`` absolute, in
        policy joint order, rad ``(..., n)``; ``joint_velocities`` rad/s ``(..., n)``;
        ``orientation`` the body quaternion ``[w, x, y, z]`` ``(..., 4)``; ``angular_velocity``
        body frame, rad/s ``(..., 3)``; ``previous_action`` the previous raw policy action
        ``(..., n)``; ``command`` ``(..., k)``, needed only if the layout has ``command``;
        ``linear_velocity`` body frame, m/s ``(..., 3)``, needed only if the layout has
        ``base_linear_velocity``; ``heading_origin`` the yaw (rad) of ``orientation`` when the
        policy started ``(...)``, needed only if the layout has ``heading``; ``position`` the
        odometry position ``(..., 2 or 3)`` and ``position_origin`` its ``[x, y, yaw]`` when the
        policy started ``(..., 3)``, needed only if the layout has ``base_position``. ``out`` is
        an optional preallocated output array.
        """
        inputs = {
            JOINT_VELOCITIES: joint_velocities,
            BASE_ANGULAR_VELOCITY: angular_velocity,
            PREVIOUS_ACTION: previous_action,
            COMMAND: command,
            BASE_LINEAR_VELOCITY: linear_velocity,
        }
        batch_shape = np.shape(joint_positions)[:-1]
        if out is None:
            out = np.empty(batch_shape + (self.size,), dtype=np.float64)
        for name, term_slice, scale in self._slices:
            if name == PROJECTED_GRAVITY:
                value = projected_gravity(orientation)
            elif name == JOINT_POSITIONS:
                value = np.subtract(joint_positions, self.default_pose)
            elif name == HEADING:
                if heading_origin is None:
                    raise ValueError("the observation layout needs 'heading' but heading_origin "
                                     'is None')
                value = heading_change(orientation, heading_origin)[..., None]
            elif name == BASE_POSITION:
                if position is None or position_origin is None:
                    raise ValueError("the observation layout needs 'base_position' but position "
                                     'or position_origin is None')
                value = position_change(position, position_origin)
            else:
                value = inputs[name]
                if value is None:
                    raise ValueError(f'the observation layout needs {name!r} but it is None')
            value = np.asarray(value, dtype=np.float64)
            if value.shape[-1] != term_slice.stop - term_slice.start:
                raise ValueError(
                    f'{name!r} has {value.shape[-1]} entries on its last axis, the layout '
                    f'expects {term_slice.stop - term_slice.start}')
            np.multiply(value, scale, out=out[..., term_slice])
        return out


def build_observation(
    terms: Sequence[ObservationTerm],
    default_pose: np.ndarray,
    joint_positions: np.ndarray,
    joint_velocities: np.ndarray,
    orientation: np.ndarray,
    angular_velocity: np.ndarray,
    previous_action: np.ndarray,
    command: Optional[np.ndarray] = None,
    linear_velocity: Optional[np.ndarray] = None,
    heading_origin: Optional[np.ndarray] = None,
    position: Optional[np.ndarray] = None,
    position_origin: Optional[np.ndarray] = None,
) -> np.ndarray:
    """Build one observation (or a batch) without keeping a builder; see ObservationBuilder."""
    builder = ObservationBuilder(terms, default_pose)
    return builder.build(
        joint_positions, joint_velocities, orientation, angular_velocity, previous_action,
        command, linear_velocity=linear_velocity, heading_origin=heading_origin,
        position=position, position_origin=position_origin)
