"""
Robot configuration for the simulator core: load, validate, resolve per-joint gains.

The configuration is a plain YAML mapping (see ``model/quadruped_arm.yaml``). Every error names
the file and the field, so a typo in a joint name or a gain pattern fails at start-up, not as a
robot that silently falls over.
"""

from dataclasses import dataclass, field, replace
import fnmatch
import math
import os
from pathlib import Path
import re

from lpn_controller.config_files import ConfigError, read_yaml_mapping
from sim_bridge import mjcf

MODEL_DIR = Path(__file__).resolve().parent / 'model'
DEFAULT_CONFIG_PATH = MODEL_DIR / 'quadruped_arm.yaml'


@dataclass(frozen=True)
class ImuSensors:
    """Names of the MJCF sensors that make up the IMU."""

    orientation: str = 'imu_orientation'
    angular_velocity: str = 'imu_gyro'
    linear_acceleration: str = 'imu_accelerometer'


@dataclass(frozen=True)
class SimConfig:
    """Everything the simulator core needs; gains are resolved to one value per joint."""

    model_path: Path
    joint_names: tuple
    kp: tuple
    kd: tuple
    physics_rate_hz: float = 500.0
    control_rate_hz: float = 50.0
    keyframe: str = 'stand'
    base_body: str = 'body'
    imu_site: str = 'imu'
    # None: no IMU sensors; readings come from the frame of imu_site (or base_body if empty).
    imu_sensors: ImuSensors = field(default_factory=ImuSensors)
    foot_sites: tuple = ()
    gripper_site: str = ''
    source: str = '<dict>'
    # Sites added to the model before compiling: {name: {'body': ..., 'pos': [x, y, z]}}.
    sites: dict = field(default_factory=dict)
    # Policy joint name -> this model's joint name, for policies trained on another robot.
    joint_map: dict = field(default_factory=dict)
    # Bodies whose ground contact counts as a fall (patterns); () = none named (a task must
    # then list its own).
    fall_bodies: tuple = ()

    @property
    def substeps(self):
        """Return the physics steps per control step."""
        return int(round(self.physics_rate_hz / self.control_rate_hz))

    @property
    def physics_dt(self):
        """Return the physics time step in seconds."""
        return 1.0 / self.physics_rate_hz

    @property
    def control_dt(self):
        """Return the control period in seconds."""
        return 1.0 / self.control_rate_hz


_KNOWN_KEYS = {
    'model', 'joints', 'kp', 'kd', 'physics_rate_hz', 'control_rate_hz', 'keyframe',
    'base_body', 'imu_site', 'imu_sensors', 'foot_sites', 'gripper_site', 'sites', 'joint_map',
    'fall_bodies', 'description',
}


def shipped_robot_names():
    """Return the robot configurations shipped in sim_bridge's model folder (sorted names)."""
    return sorted(path.stem for path in MODEL_DIR.glob('*.yaml'))


def robot_config_name(path=None):
    """Return a robot configuration's name for tables: its file's stem (the packaged one's)."""
    return Path(path if path is not None else DEFAULT_CONFIG_PATH).stem


def robot_config_path(robot):
    """
    Return the robot configuration file ``robot`` names; None (the packaged robot) for ''.

    A bare name (no directory, no ``.yaml``) is a shipped configuration (``menagerie_spot_arm``);
    anything else is a path. Raises ConfigError naming what is missing.
    """
    robot = str(robot if robot is not None else '').strip()
    if not robot:
        return None
    if '/' not in robot and not robot.endswith(('.yaml', '.yml')):
        path = MODEL_DIR / f'{robot}.yaml'
        if not path.is_file():
            raise ConfigError(f'robot {robot!r} is not a shipped robot configuration (shipped: '
                              f'{", ".join(shipped_robot_names())}); give a path to a robot '
                              'YAML for another one')
        return path
    path = Path(robot).expanduser()
    if not path.is_file():
        raise ConfigError(f'no robot configuration at {path}')
    return path


def load_config(path=None, overrides=None):
    """
    Load a robot configuration YAML (the packaged one by default) into a SimConfig.

    ``overrides`` is a mapping merged over the file's top level (e.g. ``{'kp': {...}}``).
    """
    path = Path(path) if path is not None else DEFAULT_CONFIG_PATH
    raw = read_yaml_mapping(path, what='robot configuration')
    raw = {**raw, **(overrides or {})}
    return config_from_dict(raw, base_dir=path.parent, source=str(path))


def config_from_dict(raw, base_dir=MODEL_DIR, source='<dict>'):
    """Validate a configuration mapping and resolve per-joint gains."""
    def fail(message):
        raise ConfigError(f'{source}: {message}')

    unknown = sorted(set(raw) - _KNOWN_KEYS)
    if unknown:
        fail(f'unknown field(s) {unknown}; known fields are {sorted(_KNOWN_KEYS)}')
    for required in ('model', 'joints', 'kp', 'kd'):
        if required not in raw:
            fail(f"missing required field '{required}'")

    model_path = _model_path(str(raw['model']), base_dir, fail)

    joints = raw['joints']
    if not isinstance(joints, list) or not joints or not all(isinstance(j, str) for j in joints):
        fail("field 'joints' must be a non-empty list of joint names")
    duplicates = sorted({j for j in joints if joints.count(j) > 1})
    if duplicates:
        fail(f"field 'joints' lists {duplicates} more than once")

    physics_rate = _positive_float(raw.get('physics_rate_hz', 500.0), 'physics_rate_hz', fail)
    control_rate = _positive_float(raw.get('control_rate_hz', 50.0), 'control_rate_hz', fail)
    ratio = physics_rate / control_rate
    if ratio < 1 or not math.isclose(ratio, round(ratio), rel_tol=0, abs_tol=1e-9):
        fail(f'physics_rate_hz ({physics_rate}) must be a whole multiple of control_rate_hz '
             f'({control_rate})')

    imu_sensors = _imu_sensors(raw, fail)
    sites = _sites(raw.get('sites') or {}, fail)
    joint_map = raw.get('joint_map') or {}
    if not isinstance(joint_map, dict) or not all(
            isinstance(k, str) and isinstance(v, str) for k, v in joint_map.items()):
        fail("field 'joint_map' must map policy joint names to this model's joint names")
    unmapped = sorted(set(joint_map.values()) - set(joints))
    if unmapped:
        fail(f"field 'joint_map': {unmapped} are not in 'joints' {list(joints)}")
    fall_bodies = raw.get('fall_bodies') or ()
    if not isinstance(fall_bodies, (list, tuple)) or not all(
            isinstance(b, str) for b in fall_bodies):
        fail("field 'fall_bodies' must be a list of body names or patterns")

    config = SimConfig(
        model_path=model_path,
        joint_names=tuple(joints),
        kp=(0.0,) * len(joints), kd=(0.0,) * len(joints),
        physics_rate_hz=physics_rate,
        control_rate_hz=control_rate,
        keyframe=str(raw.get('keyframe', 'stand')),
        base_body=str(raw.get('base_body', 'body')),
        imu_site=str(raw.get('imu_site', 'imu') or ''),
        imu_sensors=imu_sensors,
        foot_sites=tuple(raw.get('foot_sites', ()) or ()),
        gripper_site=str(raw.get('gripper_site', '') or ''),
        source=source, sites=sites, joint_map=dict(joint_map), fall_bodies=tuple(fall_bodies),
    )
    # Every name against the model before the gains: a wrong joint list is the real error.
    try:
        model = mjcf.compile_model(model_path, sites)
    except ValueError as error:
        fail(f"field 'model': {error}")
    mjcf.check_names(model, config, fail)
    return replace(config, kp=resolve_gains(raw['kp'], joints, 'kp', fail),
                   kd=resolve_gains(raw['kd'], joints, 'kd', fail))


def resolve_gains(spec, joint_names, field_name, fail):
    """
    Turn a gain spec into one value per joint.

    ``spec`` is a number (all joints), a list in joint order, or a mapping from joint names or
    shell-style patterns to numbers. With a mapping, every joint must match exactly one key and
    every key must match at least one joint, so typos cannot go unnoticed.
    """
    n = len(joint_names)
    if isinstance(spec, (int, float)) and not isinstance(spec, bool):
        values = [float(spec)] * n
    elif isinstance(spec, list):
        if len(spec) != n:
            fail(f"field '{field_name}' lists {len(spec)} values for {n} joints")
        values = spec
    elif isinstance(spec, dict):
        values = []
        used = set()
        for joint in joint_names:
            matches = [key for key in spec if fnmatch.fnmatchcase(joint, str(key))]
            if not matches:
                fail(f"field '{field_name}': no entry matches joint '{joint}'")
            if len(matches) > 1:
                fail(f"field '{field_name}': joint '{joint}' matches several entries {matches}")
            used.add(matches[0])
            values.append(spec[matches[0]])
        unused = [key for key in spec if key not in used]
        if unused:
            fail(f"field '{field_name}': entries {unused} match no joint in 'joints'")
    else:
        fail(f"field '{field_name}' must be a number, a list or a mapping of joint patterns")
    resolved = []
    for joint, value in zip(joint_names, values):
        try:
            value = float(value)
        except (TypeError, ValueError):
            fail(f"field '{field_name}': value for joint '{joint}' is not a number: {value!r}")
        if not math.isfinite(value) or value < 0:
            fail(f"field '{field_name}': value for joint '{joint}' must be finite and >= 0, "
                 f'got {value}')
        resolved.append(value)
    return tuple(resolved)


def _positive_float(value, name, fail):
    try:
        value = float(value)
    except (TypeError, ValueError):
        fail(f"field '{name}' must be a number, got {value!r}")
    if not math.isfinite(value) or value <= 0:
        fail(f"field '{name}' must be positive, got {value}")
    return value


def _model_path(text, base_dir, fail):
    """Resolve ``model:``; ``${VAR}`` is taken from the environment (e.g. MENAGERIE_ROOT)."""
    for variable in re.findall(r'\$\{(\w+)\}', text):
        if not os.environ.get(variable):
            hint = (' (your mujoco_menagerie checkout, the mujoco-menagerie convention)'
                    if variable == 'MENAGERIE_ROOT' else '')
            fail(f"field 'model': {text} needs the environment variable {variable}{hint}; "
                 'set it or give the model path')
    path = Path(os.path.expandvars(text)).expanduser()
    if not path.is_absolute():
        path = Path(base_dir) / path
    if not path.is_file():
        fail(f"field 'model': no such file {path}")
    return path


def _imu_sensors(raw, fail):
    if 'imu_sensors' in raw and raw['imu_sensors'] is None:
        return None   # readings from the frame of imu_site / base_body
    sensors = raw.get('imu_sensors', {}) or {}
    if not isinstance(sensors, dict):
        fail("field 'imu_sensors' must be a mapping, or null for readings from the frame of "
             "'imu_site'")
    try:
        return ImuSensors(**sensors)
    except TypeError:
        fail(f"field 'imu_sensors' accepts {list(ImuSensors.__dataclass_fields__)}, "
             f'got {sorted(sensors)}')


def _sites(sites, fail):
    if not isinstance(sites, dict):
        fail("field 'sites' must map site names to {body: name, pos: [x, y, z]}")
    resolved = {}
    for name, where in sites.items():
        if not isinstance(where, dict) or not isinstance(where.get('body'), str) or \
                set(where) - {'body', 'pos'}:
            fail(f"field 'sites.{name}' must be {{body: name, pos: [x, y, z]}}")
        pos = where.get('pos', [0.0, 0.0, 0.0])
        try:
            pos = [float(v) for v in pos]
        except (TypeError, ValueError):
            pos = []
        if len(pos) != 3:
            fail(f"field 'sites.{name}.pos' must be three numbers")
        resolved[str(name)] = {'body': where['body'], 'pos': pos}
    return resolved
