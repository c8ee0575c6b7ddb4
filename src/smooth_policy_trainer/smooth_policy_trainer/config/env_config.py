"""
The imitation task's configuration (``env`` of a training config).

Clip, robot, observation, reward terms, terminations, resets, randomisation: plain dataclasses,
every default written here (the domain randomisation tree's in domain_randomization.py).
"""

from dataclasses import dataclass, field
from pathlib import Path
from typing import Dict

from smooth_policy_trainer.config.choices import DEFAULT_POSES, PHYSICS
from smooth_policy_trainer.config.domain_randomization import DomainRandomizationConfig
from smooth_policy_trainer.config.reader import checked, one_of, ranged
from smooth_policy_trainer.motion.clip_files import list_shipped_clips


@dataclass(frozen=True)
class RewardTerm:
    """weight * exp(-scale * error)."""

    weight: float
    scale: float


DEFAULT_REWARD_TERMS = {
    'pose': RewardTerm(0.5, 2.0),
    'velocity': RewardTerm(0.1, 0.1),
    'end_effector': RewardTerm(0.15, 10.0),
    'root': RewardTerm(0.15, 10.0),
    'root_velocity': RewardTerm(0.1, 1.0),
    'root_position': RewardTerm(0.0, 5.0),
    'end_effector_world': RewardTerm(0.0, 100.0),
    'end_effector_height': RewardTerm(0.0, 100.0),
}


def clip_problem(clip):
    """Return why ``clip`` names no clip (a shipped one's name, or a clip file), or None."""
    path = Path(clip)
    if clip in list_shipped_clips() or (path.suffix in ('.yaml', '.npz') and path.is_file()):
        return None
    return (f"unknown clip '{clip}' (shipped: {', '.join(list_shipped_clips())}; or the path "
            'of a clip .yaml/.npz)')


@dataclass
class RandomizationConfig:
    """Domain randomisation, drawn per environment at every reset (off by default)."""

    enabled: bool = False
    friction: tuple = (0.6, 1.2)          # floor sliding friction
    base_mass_scale: tuple = (0.9, 1.1)
    pd_gain_scale: tuple = (0.85, 1.15)   # kp and kd together
    max_latency_steps: int = ranged(0, 0)   # actions applied 0..k control steps late


@dataclass
class LinearVelocityObservation:
    """
    The base linear velocity term, as a robot's odometry estimate delivers it (off by default).

    Without it the policy cannot sense whether the body moves: a robot that trots in place loses
    little reward. On the robot the value is the driver's state estimate, so training sees the
    true body-frame velocity plus a per-episode bias, per-step noise and a per-episode delay.
    """

    enabled: bool = False
    scale: float = ranged(1.0, 0, low_open=True)   # observation = scale * v_body, v in m/s
    noise: float = ranged(0.05, 0)   # m/s, uniform in [-noise, noise] per step and axis
    bias: float = ranged(0.05, 0)   # m/s, uniform per episode and axis
    max_latency_steps: int = ranged(1, 0)   # the estimate is 0..k control steps old, per episode


@dataclass
class EnvConfig:
    """Everything that defines the task; written into checkpoints and policy provenance."""

    clip: str = checked('trot', clip_problem)   # shipped clip name, or a path to a clip
    num_envs: int = ranged(32, 1)
    episode_length_s: float = ranged(10.0, 0, low_open=True)
    robot_config: str = ''                # '' = the packaged quadruped with arm
    # Clip joint name -> this robot's joint name, over the robot config's joint_map (a clip
    # made for another robot); {} = the robot config's joint_map alone.
    joint_remap: Dict[str, str] = field(default_factory=dict)
    physics: str = one_of('full', PHYSICS)   # sim_bridge.physics configuration: 'full' or 'fast'
    # joint_target = default_pose + scale * action
    action_scale: float = ranged(0.5, 0, low_open=True)
    action_clip: float = ranged(10.0, 0, low_open=True)
    default_pose: str = one_of('clip_mean', DEFAULT_POSES)   # 'clip_mean' or 'keyframe'
    angular_velocity_scale: float = 0.25
    joint_velocity_scale: float = 0.05
    base_linear_velocity: LinearVelocityObservation = field(
        default_factory=LinearVelocityObservation)
    # The yaw turned since the episode started (IMU), so that heading drift is observable and
    # can be undone; the controller counts it from engagement. Clips must keep a constant yaw.
    observe_heading: bool = False
    # The horizontal distance moved since the episode started, in the starting heading's frame
    # (odometry pose; the controller counts it from engagement), times this scale; 0 = off.
    # For clips that hold their place (hop, arm circle): a policy can then see, and undo, how far
    # it has crept, which it cannot from a velocity. Clips must keep their root in place.
    observe_position_scale: float = ranged(0.0, 0, note='(0 = off)')
    reward_terms: dict = field(default_factory=lambda: {
        name: {'weight': term.weight, 'scale': term.scale}
        for name, term in DEFAULT_REWARD_TERMS.items()})
    # Bodies whose ground contact is a fall (patterns); () = the robot config's fall_bodies.
    fall_bodies: tuple = ()
    max_height_error: float = 0.25        # m, from the reference root height
    max_orientation_error: float = 0.8    # rad of tilt (roll/pitch) from the reference's;
    #                                       heading drift is scored by the reward, not a fall
    # m, horizontal distance from the reference root that ends the episode (DeepMimic's early
    # termination); 0 = off
    max_root_drift: float = ranged(0.0, 0, note='(0 = off)')
    reset_joint_noise: float = 0.05       # rad, uniform
    # Reference starts with the root height set so the lowest foot stands on this model's
    # floor at the clip's clearance (envs/floor_start.py): for models the clip was not made on.
    start_on_floor: bool = False
    # Smoothness baselines (METHODS.md 6), off by default:
    action_rate_weight: float = ranged(0.0, 0)   # r_rate = -w sum_j (a_t,j - a_t-1,j)^2 dt_policy
    # command = alpha a + (1 - alpha) command; 1 = none
    action_filter_alpha: float = ranged(1.0, 0, 1, low_open=True, note='(1 = no filter)')
    seed: int = 0
    randomization: RandomizationConfig = field(default_factory=RandomizationConfig)
    # Dynamics, latencies, noise and pushes (config/domain_randomization.py); every group off
    # by default.
    domain_randomization: DomainRandomizationConfig = field(
        default_factory=DomainRandomizationConfig)
