"""
The motion-imitation reward (METHODS.md 9), written as the paper writes it.

r = 0.5 exp(-2 e_pose) + 0.1 exp(-0.1 e_vel) + 0.15 exp(-10 e_ee) + 0.15 exp(-10 e_root)
  + 0.1 exp(-1 e_root_vel) [+ w exp(-k e_root_pos)] [+ w exp(-k e_ee_world)]
  [+ w exp(-k e_ee_height)]

Each e_* is a squared error to the reference at the current phase, summed over its components:
joint angles (rad^2), joint velocities ((rad/s)^2), end-effector positions in the body frame
(m^2, four feet and the gripper), root height and orientation (m^2 + rad^2) and root linear and
angular velocity in the body frame ((m/s)^2 + (rad/s)^2). Everything is batched over a leading
environment axis.

The root position term (off by default, weight 0) is DeepMimic's: the horizontal distance (m^2)
from the base to the reference root, which starts where the episode starts and moves on by one
cycle's displacement per cycle. Velocity terms forgive a robot that lags a little every step;
the position error accumulates what it lags, so only walking at the clip's speed keeps it small.

The world end-effector term (off by default) compares the feet and gripper with the reference's
in the world, placed by the reference root. The body-frame term cannot see a whole body that is
off: a gripper drawn right relative to a base that swayed, or feet that stay on the floor through
the flight phase of a hop while the body only stretches. The world term scores exactly that.
Its height part alone (off by default) is the hop's: the world term also counts the horizontal
drift a hop accumulates, which swamps the few centimetres by which the feet must leave the floor.
"""


from lpn_controller.rotations import (quat_conjugate, quat_multiply, quat_to_rotvec,
                                      rotate_into_body, rotate_into_world, wrap_angle, yaw_angle)
import numpy as np
from smooth_policy_trainer.config.env_config import DEFAULT_REWARD_TERMS, RewardTerm


WORLD_TERMS = ('end_effector_world', 'end_effector_height')


def orientation_error(orientation, reference_orientation):
    """Return the angle (rad) of the rotation between two [w, x, y, z] orientations."""
    relative = quat_multiply(quat_conjugate(reference_orientation), orientation)
    return np.linalg.norm(quat_to_rotvec(relative), axis=-1)


def heading_error(orientation, reference_orientation):
    """Return the signed yaw of the body relative to the reference's (rad, in [-pi, pi))."""
    return wrap_angle(yaw_angle(orientation) - yaw_angle(reference_orientation))


def imitation_errors(state, end_effectors_body, reference, world=True):
    """
    Return the squared tracking errors per environment, keyed like DEFAULT_REWARD_TERMS.

    ``state`` is a batched RobotState, ``end_effectors_body`` (N, k, 3) the measured end-effector
    positions in the body frame, ``reference`` a batched clip ReferenceSample. ``world=False``
    leaves out the world end-effector terms (WORLD_TERMS), whose rotations cost ~2 % of an
    environment step, for a reward that does not use them.
    """
    pose = np.sum((state.joint_positions - reference.joint_positions) ** 2, axis=-1)
    velocity = np.sum((state.joint_velocities - reference.joint_velocities) ** 2, axis=-1)
    end_effector = np.sum((end_effectors_body - reference.end_effector_positions) ** 2,
                          axis=(-2, -1))
    height = (state.base_position[:, 2] - reference.root_position[:, 2]) ** 2
    root = height + orientation_error(state.base_orientation, reference.root_orientation) ** 2
    linear = rotate_into_body(state.base_orientation, state.base_linear_velocity)
    reference_linear = rotate_into_body(reference.root_orientation,
                                        reference.root_linear_velocity)
    root_velocity = np.sum((linear - reference_linear) ** 2, axis=-1) + np.sum(
        (state.base_angular_velocity - reference.root_angular_velocity) ** 2, axis=-1)
    root_position = np.sum((state.base_position[:, :2] - reference.root_position[:, :2]) ** 2,
                           axis=-1)
    errors = {'pose': pose, 'velocity': velocity, 'end_effector': end_effector, 'root': root,
              'root_velocity': root_velocity, 'root_position': root_position}
    if world:
        world_offset = (_in_world(state.base_position, state.base_orientation, end_effectors_body)
                        - _in_world(reference.root_position, reference.root_orientation,
                                    reference.end_effector_positions))
        errors['end_effector_world'] = np.sum(world_offset ** 2, axis=(-2, -1))
        errors['end_effector_height'] = np.sum(world_offset[..., 2] ** 2, axis=-1)
    return errors


def _in_world(root_position, root_orientation, body_points):
    # (N, 3), (N, 4), (N, k, 3) -> the points in the world, (N, k, 3)
    return root_position[:, None, :] + rotate_into_world(root_orientation[:, None, :],
                                                         body_points)


def imitation_reward(errors, terms=None):
    """Return (total reward per environment, each weighted term per environment)."""
    terms = DEFAULT_REWARD_TERMS if terms is None else terms
    zero = 0.0 * errors['pose']
    weighted = {}
    for name, term in terms.items():
        if name in errors:
            weighted[name] = term.weight * np.exp(-term.scale * errors[name])
        elif term.weight == 0.0:   # left out by imitation_errors(world=False): adds nothing
            weighted[name] = zero
        else:
            raise ValueError(f"reward term '{name}' has weight {term.weight} but its error was "
                             'not computed')
    return sum(weighted.values()), weighted


class ImitationReward:
    """
    The environment's reward: the imitation terms and, when weighted, the action-rate term.

    A call returns the per-environment total and a dict of the named, weighted terms that sum to
    it; the names are what the runner logs (``reward/<name>``). The action-rate term (legged_gym's,
    METHODS.md 6) is -w dt sum_j (a_t,j - a_t-1,j)^2 on the policy's unfiltered output; it is in
    the dict only when its weight is not 0, decided here once.
    """

    def __init__(self, reward_terms, action_rate_weight=0.0, control_dt=0.02):
        self.terms = {name: RewardTerm(**term) for name, term in reward_terms.items()}
        self.uses_world_terms = any(self.terms[name].weight != 0.0
                                    for name in WORLD_TERMS if name in self.terms)
        self.rate_weight, self.control_dt = action_rate_weight, control_dt
        self.extra_terms = {'action_rate': self._action_rate} if action_rate_weight else {}

    def errors(self, state, end_effectors_body, reference):
        """Return the squared errors the terms read (the world ones only when weighted)."""
        return imitation_errors(state, end_effectors_body, reference,
                                world=self.uses_world_terms)

    def __call__(self, errors, action_change):
        """Return (rewards (N,), {name: (N,) weighted term})."""
        rewards, weighted = imitation_reward(errors, self.terms)
        for name, term in self.extra_terms.items():
            value = term(action_change)
            rewards = rewards + value
            weighted = {**weighted, name: value}
        return rewards, weighted

    def _action_rate(self, action_change):
        # The first step of an episode compares with 0.
        return -(self.rate_weight * self.control_dt * (action_change ** 2).sum(axis=1))
