"""
Domain randomisation for training (``env.domain_randomization``): what is drawn, in which range.

``env.domain_randomization`` is a tree of groups, each off by default and each with its own
ranges (two numbers, low and high). A group that is off draws nothing and changes nothing, so a
config without the tree trains exactly as before. Every group draws from its own random stream,
spawned from ``env.seed``: turning one group on or off leaves the others' draws unchanged, and
the same seed gives the same draws.

Drawn per episode (at each environment's reset): masses, centre-of-mass offset, base inertia,
friction, foot contact softness and radius, PD gains and motor strength, joint armature and
damping, the action latency and each sensor's latency. Drawn per push: the push. Drawn per
step: observation noise. Gains spread over decades (the Spot driver's arm gains are 2.5-10x
the trained ones), so gain and strength scales are drawn log-uniformly; everything else
uniformly (the draws: envs/episode_sampler.py). The ranges used are recorded in the exported
policy's metadata (``randomization``). Plain dataclasses and their checks: no numpy, no MuJoCo.
"""

from dataclasses import asdict, dataclass, field, fields

PUSH_MIN_INTERVAL_S = 0.1


@dataclass
class MassRandomization:
    """Base and link masses, as scales of the model's."""

    enabled: bool = False
    base_scale: tuple = (0.8, 1.25)
    link_scale: tuple = (0.8, 1.25)


@dataclass
class CenterOfMassRandomization:
    """Offset of the base's centre of mass, per axis, in the base frame (m)."""

    enabled: bool = False
    offset_m: tuple = (-0.05, 0.05)


@dataclass
class InertiaRandomization:
    """The base's principal inertia, as a scale of the model's."""

    enabled: bool = False
    base_scale: tuple = (0.7, 1.4)


@dataclass
class FrictionRandomization:
    """Sliding friction of the feet and the floor (the contact's value)."""

    enabled: bool = False
    value_range: tuple = (0.4, 1.25)


@dataclass
class FootContactRandomization:
    """Foot contact softness (solref time constant and damping ratio, solimp) and radius."""

    enabled: bool = False
    solref_timeconst_s: tuple = (0.01, 0.03)
    solref_dampratio: tuple = (0.7, 1.3)
    solimp_dmin: tuple = (0.85, 0.95)
    solimp_dmax: tuple = (0.95, 0.99)
    radius_scale: tuple = (0.8, 1.6)      # Menagerie's Spot feet are 1.4x the packaged ones


@dataclass
class ActuatorRandomization:
    """
    PD gains and motor strength, as log-uniform scales of the trained gains, per joint.

    Joints matching ``arm_joints`` draw from the arm ranges. The defaults reach the Spot
    driver's default gains from the packaged ones (kp legs 1.25/1.87/0.57x, arm 2.55-10.2x;
    kd legs 0.52/0.52/0.20x, arm 2.55-5.1x). ``strength_scale`` scales the torque (gains and
    torque limit together), per joint.
    """

    enabled: bool = False
    kp_scale: tuple = (0.5, 2.0)
    kd_scale: tuple = (0.18, 1.5)
    arm_kp_scale: tuple = (0.8, 11.0)
    arm_kd_scale: tuple = (0.8, 5.5)
    arm_joints: str = 'arm_*'
    strength_scale: tuple = (0.8, 1.1)


@dataclass
class JointDynamicsRandomization:
    """Joint armature and damping, as scales of the model's, per joint."""

    enabled: bool = False
    armature_scale: tuple = (0.5, 2.0)
    damping_scale: tuple = (0.5, 2.0)


@dataclass
class ActionLatencyRandomization:
    """Time from the policy's action to the motors, per episode (s; physics-step resolution)."""

    enabled: bool = False
    seconds: tuple = (0.0, 0.03)


@dataclass
class ObservationLatencyRandomization:
    """
    Each sensor's age in control steps, drawn per episode; odometry also at its own rate.

    The Spot driver publishes joint states and the IMU at 333 Hz, read at every control step,
    and its odometry is polled at 50 Hz: ``odometry_rate_hz`` holds each odometry sample until
    the next (a random phase per episode), then the odometry latency applies.
    """

    enabled: bool = False
    joint_state_steps: tuple = (0, 1)
    imu_steps: tuple = (0, 1)
    odometry_steps: tuple = (0, 2)
    odometry_rate_hz: float = 50.0


@dataclass
class ObservationNoise:
    """Uniform noise in [-a, a] on what the policy observes, drawn at every sample."""

    enabled: bool = False
    joint_position_rad: float = 0.01
    joint_velocity_rad_s: float = 0.5
    angular_velocity_rad_s: float = 0.1
    orientation_rad: float = 0.02         # a small rotation about a random axis
    linear_velocity_m_s: float = 0.05


@dataclass
class PushRandomization:
    """Sudden changes of the base's horizontal velocity during an episode (legged_gym's pushes)."""

    enabled: bool = False
    interval_s: tuple = (2.0, 5.0)        # time to the next push, drawn per push
    max_velocity_m_s: float = 1.0         # the change's size, uniform in [0, max]
    vertical_m_s: float = 0.0             # up or down, uniform in [-v, v]


@dataclass
class DomainRandomizationConfig:
    """Every randomisation group; all off by default (see the module)."""

    mass: MassRandomization = field(default_factory=MassRandomization)
    center_of_mass: CenterOfMassRandomization = field(default_factory=CenterOfMassRandomization)
    inertia: InertiaRandomization = field(default_factory=InertiaRandomization)
    friction: FrictionRandomization = field(default_factory=FrictionRandomization)
    foot_contact: FootContactRandomization = field(default_factory=FootContactRandomization)
    actuators: ActuatorRandomization = field(default_factory=ActuatorRandomization)
    joint_dynamics: JointDynamicsRandomization = field(
        default_factory=JointDynamicsRandomization)
    action_latency: ActionLatencyRandomization = field(
        default_factory=ActionLatencyRandomization)
    observation_latency: ObservationLatencyRandomization = field(
        default_factory=ObservationLatencyRandomization)
    observation_noise: ObservationNoise = field(default_factory=ObservationNoise)
    pushes: PushRandomization = field(default_factory=PushRandomization)

    def enabled_groups(self):
        """Return the names of the groups that are on, in the tree's order."""
        return [f.name for f in fields(self) if getattr(self, f.name).enabled]

    @property
    def any_enabled(self):
        """Return True when any group is on."""
        return bool(self.enabled_groups())


def fixed_action_latency(seconds):
    """
    Return a DomainRandomizationConfig that delays every action by exactly ``seconds``.

    The action latency group alone, its range [seconds, seconds] (every draw is that value);
    every other group off. The delay runs at physics-step resolution: evaluate_policy refuses a
    delay that is not a whole number of physics steps.
    """
    seconds = float(seconds)
    if not seconds >= 0:
        raise ValueError(f'an action latency must be at least 0 s, got {seconds}')
    return DomainRandomizationConfig(
        action_latency=ActionLatencyRandomization(enabled=True, seconds=(seconds, seconds)))


GROUPS = tuple(f.name for f in fields(DomainRandomizationConfig))
PHYSICS_GROUPS = ('mass', 'center_of_mass', 'inertia', 'friction', 'foot_contact', 'actuators',
                  'joint_dynamics')
# Ranges that must stay positive (scales, time constants); the others only need low <= high.
_POSITIVE = {'base_scale', 'link_scale', 'value_range', 'solref_timeconst_s', 'solref_dampratio',
             'radius_scale', 'kp_scale', 'kd_scale', 'arm_kp_scale', 'arm_kd_scale',
             'strength_scale', 'armature_scale', 'damping_scale', 'interval_s'}


def check_domain_randomization(config, require, prefix='env.domain_randomization'):
    """Check every range of ``config``; ``require(ok, key, problem)`` reports a bad one."""
    for group_name in GROUPS:
        group = getattr(config, group_name)
        for item in fields(group):
            value = getattr(group, item.name)
            key = f'{prefix}.{group_name}.{item.name}'
            if isinstance(value, tuple):
                require(len(value) == 2 and value[0] <= value[1], key,
                        f'must be a range [low, high] with low <= high, got {list(value)}')
                if item.name in _POSITIVE:
                    require(value[0] > 0, key, f'must be positive, got {list(value)}')
                if item.name.endswith('_steps'):
                    require(value[0] >= 0, key, f'must be at least 0 steps, got {list(value)}')
                if item.name == 'seconds':
                    require(value[0] >= 0, key, f'must be at least 0 s, got {list(value)}')
                if item.name.startswith('solimp'):
                    require(0 < value[0] and value[1] < 1, key,
                            f'must lie in (0, 1), got {list(value)}')
            elif isinstance(value, float):
                require(value >= 0, key, f'must be at least 0, got {value}')
    require(config.observation_latency.odometry_rate_hz > 0,
            f'{prefix}.observation_latency.odometry_rate_hz', 'must be positive')
    require(config.pushes.interval_s[0] >= PUSH_MIN_INTERVAL_S, f'{prefix}.pushes.interval_s',
            f'pushes at least {PUSH_MIN_INTERVAL_S} s apart')


def check_env_randomization(env, require):
    """
    Check an EnvConfig's ``domain_randomization`` ranges and that it is alone.

    The older ``env.randomization`` draws gains, friction and base mass its own way: the two
    do not combine.
    """
    check_domain_randomization(env.domain_randomization, require)
    require(not (env.randomization.enabled and env.domain_randomization.any_enabled),
            'env.randomization.enabled', 'env.domain_randomization replaces it; turn one off')


def randomization_metadata(config):
    """Return the ranges of the groups that are on, as plain YAML types (policy metadata)."""
    def plain(value):
        return [plain(item) for item in value] if isinstance(value, (list, tuple)) else value
    return {name: {key: plain(value) for key, value in asdict(getattr(config, name)).items()
                   if key != 'enabled'}
            for name in config.enabled_groups()}
