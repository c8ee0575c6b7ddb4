"""
The training configuration: one tree of plain dataclasses, read from YAML with overrides.

The tree is ``env`` (EnvConfig, with ``env.randomization``, ``env.domain_randomization`` and
``env.base_linear_velocity``), ``policy``, ``critic``, ``normalizer`` (the observation
normaliser), ``ppo`` (PPOConfig), the actor regularisers ``penalty`` (action Jacobian),
``caps`` and ``gradient_penalty`` (GP-LCP), and ``run``. The other baselines are switches
where they act: ``env.action_rate_weight``, ``env.action_filter_alpha`` and
``policy.spectral_norm``.
Every default lives in a dataclass (here, in env.py and in ppo.py); the shipped files under
``config/`` write every key out. A YAML file may leave keys out
(they keep their defaults); ``--set a.b=value`` overrides one key, the value parsed as YAML.
Unknown keys and values of the wrong type or range raise ConfigError naming the key.
"""

from dataclasses import asdict, dataclass, field, fields, is_dataclass
import math
from pathlib import Path
import typing
from typing import Mapping, Optional, Tuple

from sim_bridge.physics import PHYSICS_CONFIGS
from smooth_policy_trainer.clips import list_shipped_clips
from smooth_policy_trainer.domain_randomization import check_domain_randomization
from smooth_policy_trainer.env import EnvConfig
from smooth_policy_trainer.penalties import METHODS
from smooth_policy_trainer.policies import ACTIVATIONS, INITS
from smooth_policy_trainer.ppo import PPOConfig
import yaml

POLICY_KINDS = ('lpn', 'mlp')
NONE_TYPE = type(None)   # Optional[X] is Union[X, NoneType]


class ConfigError(ValueError):
    """A configuration problem; the message names the file (or --set) and the key."""


@dataclass
class PolicyConfig:
    """The actor. Hidden sizes are kept per kind, so ``--policy mlp`` gets an MLP-sized net."""

    kind: str = 'lpn'                                      # 'lpn' or 'mlp'
    activation: str = 'elu'
    phase_harmonics: int = 2                               # H: sin/cos of 2 pi h phase, h = 1..H
    initial_std: float = 0.5                               # exploration std, raw action units
    lpn_hidden_sizes: Tuple[int, ...] = (64, 64)           # the LPN's phase network
    rank: Optional[int] = 8                                # LPN: rank r of K = U V^T; null: full
    mlp_hidden_sizes: Tuple[int, ...] = (256, 128, 64)
    # The SN baseline (METHODS.md 4), MLP only: each layer's W -> lambda_sn W / sigma_max(W).
    spectral_norm: bool = False
    lambda_sn: float = 1.0
    spectral_norm_output: bool = False   # the output layer too (reported with the results)
    init: str = 'orthogonal'       # orthogonal (CleanRL) or default (PyTorch's, as rsl_rl)
    # Fit the output at the mean observation to the clip's joint trajectory before PPO
    # (smooth_policy_trainer.warm_start): the policy starts as the open-loop replay.
    reference_warm_start: bool = False

    def actor_options(self):
        """Return the keyword arguments of make_actor for this kind."""
        options = {'activation': self.activation, 'phase_harmonics': self.phase_harmonics,
                   'initial_std': self.initial_std, 'init': self.init}
        if self.kind == 'lpn':
            return {**options, 'hidden_sizes': self.lpn_hidden_sizes, 'rank': self.rank}
        return {**options, 'hidden_sizes': self.mlp_hidden_sizes,
                'spectral_norm': self.lambda_sn if self.spectral_norm else None,
                'spectral_norm_output': self.spectral_norm_output}


@dataclass
class CriticConfig:
    """The state-value network (sees the normalised observation and the phase features)."""

    hidden_sizes: Tuple[int, ...] = (256, 128, 64)
    activation: str = 'elu'
    phase_harmonics: int = 2
    init: str = 'orthogonal'       # as policy.init


@dataclass
class NormalizerConfig:
    """Running observation normaliser: (s - mean) / (sqrt(var + epsilon) + std_offset), clipped."""

    epsilon: float = 1e-8          # inside the square root
    std_offset: float = 0.0        # added to the std (rsl_rl: epsilon 0, std_offset 0.01)
    clip: float = 10.0             # |normalised input| is clipped here


@dataclass
class PenaltyConfig:
    """The action Jacobian penalty w * mean ||da/ds||_F^2 (METHODS.md 1 and 2)."""

    enabled: bool = True
    weight: float = 0.005
    method: str = 'closed_form'    # closed_form (LPN only), exact or estimator


@dataclass
class CapsConfig:
    """CAPS temporal and spatial losses on the actor (METHODS.md 5)."""

    enabled: bool = False
    lambda_temporal: float = 0.1
    lambda_spatial: float = 0.5
    sigma: float = 0.2             # spatial neighbours, in normalised-observation units


@dataclass
class GradientPenaltyConfig:
    """GP-LCP: weight * mean ||grad_s log pi(a|s)||^2 (METHODS.md 3)."""

    enabled: bool = False
    weight: float = 0.002


@dataclass
class RunConfig:
    """Length, seeding, checkpoints, evaluation and logging of one training run."""

    iterations: int = 2000         # total PPO iterations (a resumed run counts from its start)
    seed: int = 0                  # torch: initial weights, action noise, minibatch order
    checkpoint_every: int = 50     # iterations; the last iteration is always saved too
    eval_every: int = 50           # iterations between deterministic evaluations; 0 = never
    eval_episodes: int = 8
    eval_seconds: float = 5.0
    log_dir: str = 'runs'          # runs go to <log_dir>/<run_name>
    run_name: str = ''             # '' = <clip>_<kind>_<YYYYmmdd-HHMMSS>
    torch_threads: int = 1         # small networks: one thread is as fast and leaves a core


@dataclass
class TrainConfig:
    """The whole tree; written into every checkpoint and into the exported policy."""

    env: EnvConfig = field(default_factory=EnvConfig)
    policy: PolicyConfig = field(default_factory=PolicyConfig)
    critic: CriticConfig = field(default_factory=CriticConfig)
    normalizer: NormalizerConfig = field(default_factory=NormalizerConfig)
    ppo: PPOConfig = field(default_factory=PPOConfig)
    penalty: PenaltyConfig = field(default_factory=PenaltyConfig)
    caps: CapsConfig = field(default_factory=CapsConfig)
    gradient_penalty: GradientPenaltyConfig = field(default_factory=GradientPenaltyConfig)
    run: RunConfig = field(default_factory=RunConfig)


# -- reading -------------------------------------------------------------------------------------

def load_config(path=None, overrides=(), root=None, check=None):
    """
    Return the TrainConfig of a YAML file (None: all defaults) with ``key=value`` overrides.

    ``root`` and ``check`` read another tree the same way (the off-policy trainer's
    OffPolicyConfig and its check); by default they are TrainConfig and check_config.
    """
    source = '<defaults>'
    data = {}
    if path is not None:
        path = resolve_config_path(path)
        source = str(path)
        try:
            data = yaml.safe_load(path.read_text()) or {}
        except yaml.YAMLError as error:
            raise ConfigError(f'{path}: not valid YAML: {error}') from None
    for assignment in overrides:
        apply_override(data, assignment, root)
    if overrides:
        source += ' with --set ' + ' '.join(overrides)
    return config_from_dict(data, source, root, check)


def resolve_config_path(path, folders=None, kind='configs'):
    """
    Return an existing config file: ``path`` itself, or a shipped config's name or file name.

    ``folders`` are where shipped configs live (default: the PPO configs), ``kind`` names them
    in the error.
    """
    folders = shipped_config_dirs() if folders is None else folders
    path = Path(path)
    if path.is_file():
        return path
    if path.parent == Path('.'):
        name = path.name if path.suffix == '.yaml' else path.name + '.yaml'
        for folder in folders:
            if (folder / name).is_file():
                return folder / name
    shipped = sorted(p.stem for folder in folders for p in folder.glob('*.yaml'))
    raise ConfigError(f'{path}: no such config file (shipped {kind}: {", ".join(shipped)})')


def shipped_config_dirs():
    """Return the folders that hold the shipped configs (source tree, then ROS install share)."""
    package = Path(__file__).resolve().parent
    candidates = [package.parent / 'config',
                  package.parents[3] / 'share' / 'smooth_policy_trainer' / 'config']
    return [folder for folder in candidates if folder.is_dir()]


def apply_override(data, assignment, root=None):
    """Apply one ``a.b.c=value`` override (value parsed as YAML) to the raw mapping ``data``."""
    key, separator, text = assignment.partition('=')
    key = key.strip()
    if not separator or not key:
        raise ConfigError(f'--set {assignment!r}: expected key=value, e.g. '
                          'ppo.learning_rate=3e-4')
    try:
        value = yaml.safe_load(text)
    except yaml.YAMLError as error:
        raise ConfigError(f"--set {assignment!r}: key '{key}': value is not valid YAML: "
                          f'{error}') from None
    annotation, default = _lookup(key, f'--set {assignment!r}', root or TrainConfig)
    _convert(value, annotation, default, key, f'--set {assignment!r}')  # fail early and here
    *parents, last = key.split('.')
    node = data
    for part in parents:
        child = node.get(part)
        if not isinstance(child, dict):
            child = node[part] = {}
        node = child
    node[last] = value


def config_from_dict(data, source='<dict>', root=None, check=None):
    """Build and check a TrainConfig (or a ``root`` tree) from a (partial) nested mapping."""
    config = _build(root or TrainConfig, data, '', source)
    (check or check_config)(config, source)
    return config


def config_to_dict(config):
    """Return the config as plain YAML types (tuples become lists), for files and checkpoints."""
    def plain(value):
        if isinstance(value, Mapping):
            return {str(key): plain(item) for key, item in value.items()}
        if isinstance(value, (list, tuple)):
            return [plain(item) for item in value]
        return value
    return plain(asdict(config))


def dump_config(config):
    """Return the config as YAML text."""
    return yaml.safe_dump(config_to_dict(config), sort_keys=False, default_flow_style=False)


def _lookup(key, source, root):
    """Return (annotation, default) of a dotted key of the ``root`` tree, failing on unknowns."""
    annotation, default = root, root()
    walked = []
    for part in key.split('.'):
        if typing.get_origin(annotation) is dict and typing.get_args(annotation):
            annotation, default = typing.get_args(annotation)[1], None   # any key
        elif is_dataclass(annotation):
            known = {f.name: f for f in fields(annotation)}
            if part not in known:
                _fail(source, '.'.join(walked + [part]), 'unknown key (known here: '
                      f'{", ".join(known)})')
            annotation, default = known[part].type, getattr(default, part)
        elif isinstance(default, Mapping):
            if part not in default:
                _fail(source, '.'.join(walked + [part]), 'unknown key (known here: '
                      f'{", ".join(default)})')
            default = default[part]
            annotation = type(default)
        else:
            _fail(source, '.'.join(walked), f'is a {_type_name(annotation)}, not a section')
        walked.append(part)
    return annotation, default


def _build(cls, data, prefix, source):
    if data is None:
        data = {}
    if not isinstance(data, Mapping):
        _fail(source, prefix or '<document>', f'expected a mapping, got {type(data).__name__}')
    defaults = cls()
    known = {f.name: f for f in fields(cls)}
    values = {}
    for name, value in data.items():
        key = f'{prefix}.{name}' if prefix else str(name)
        if name not in known:
            _fail(source, key, f'unknown key (known here: {", ".join(known)})')
        values[name] = _convert(value, known[name].type, getattr(defaults, name), key, source)
    try:
        return cls(**values)
    except ValueError as error:  # a dataclass's own check, e.g. PPOConfig.schedule
        _fail(source, prefix or '<document>', str(error))


def _convert(value, annotation, default, key, source):
    """Check ``value`` against the field's type (or its default's) and return it converted."""
    if is_dataclass(annotation):
        return _build(annotation, value, key, source)
    origin, args = typing.get_origin(annotation), typing.get_args(annotation)
    if origin is typing.Union:  # Optional[X]
        if value is None:
            return None
        (annotation,) = [arg for arg in args if arg is not NONE_TYPE]
        origin, args = typing.get_origin(annotation), typing.get_args(annotation)
    if annotation in (tuple, list) or origin in (tuple, list):
        return _convert_sequence(value, args, default, key, source)
    if origin is dict and args:
        return _convert_free_mapping(value, args, key, source)
    if annotation is dict or isinstance(default, Mapping):
        return _convert_mapping(value, default, key, source)
    return _convert_scalar(value, annotation, key, source)


def _convert_sequence(value, args, default, key, source):
    if not isinstance(value, (list, tuple)):
        _fail(source, key, f'expected a list, got {value!r}')
    if args:
        element_type = args[0]
    else:
        # A bare `tuple` field (EnvConfig): its default says what goes in it. Number tuples
        # there are (low, high) ranges, so their length is fixed too.
        element_type = type(default[0]) if default else str
        if element_type in (int, float) and len(value) != len(default):
            _fail(source, key, f'expected {len(default)} numbers, got {value!r}')
    return tuple(_convert_scalar(item, element_type, f'{key}[{index}]', source)
                 for index, item in enumerate(value))


def _convert_free_mapping(value, args, key, source):
    # A Dict[K, V] field (env.joint_remap): any keys, each key and value of its type.
    if not isinstance(value, Mapping):
        _fail(source, key, f'expected a mapping, got {value!r}')
    key_type, value_type = args
    return {_convert_scalar(name, key_type, f'{key} key {name!r}', source):
            _convert_scalar(item, value_type, f'{key}.{name}', source)
            for name, item in value.items()}


def _convert_mapping(value, default, key, source):
    # Mappings (env.reward_terms) merge into their default key by key: a file may change one
    # weight and keep the rest; a key the default lacks is unknown (no reward term reads it).
    if not isinstance(value, Mapping):
        _fail(source, key, f'expected a mapping, got {value!r}')
    merged = dict(default)
    for name, item in value.items():
        if name not in default:
            _fail(source, f'{key}.{name}', f'unknown key (known here: {", ".join(default)})')
        inner = default[name]
        merged[name] = (_convert_mapping(item, inner, f'{key}.{name}', source)
                        if isinstance(inner, Mapping)
                        else _convert_scalar(item, type(inner), f'{key}.{name}', source))
    return merged


def _convert_scalar(value, annotation, key, source):
    if annotation is bool:
        if not isinstance(value, bool):
            _fail(source, key, f'expected true or false, got {value!r}')
        return value
    if annotation is int:
        if isinstance(value, bool) or not isinstance(value, int):
            _fail(source, key, f'expected an integer, got {value!r}')
        return value
    if annotation is float:
        if isinstance(value, str):
            # YAML 1.1 reads 1e-3 (no dot) as a string; accept it rather than trip users up.
            try:
                value = float(value)
            except ValueError:
                pass
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            _fail(source, key, f'expected a number, got {value!r}')
        if not math.isfinite(value):
            _fail(source, key, f'must be finite, got {value!r}')
        return float(value)
    if annotation is str:
        if not isinstance(value, str):
            _fail(source, key, f'expected a string, got {value!r}')
        return value
    raise TypeError(f'{key}: no converter for the field type {annotation!r}')


def _type_name(annotation):
    return getattr(annotation, '__name__', str(annotation))


def _fail(source, key, problem):
    raise ConfigError(f"{source}: key '{key}': {problem}")


# -- checking ------------------------------------------------------------------------------------

def check_config(config, source='<config>'):
    """Check ranges and combinations the types cannot express; raise ConfigError naming keys."""
    def require(ok, key, problem):
        if not ok:
            _fail(source, key, problem)

    env, policy, ppo, run = config.env, config.policy, config.ppo, config.run
    clip_path = Path(env.clip)
    require(env.clip in list_shipped_clips() or (clip_path.suffix in ('.yaml', '.npz')
                                                 and clip_path.is_file()),
            'env.clip', f"unknown clip '{env.clip}' (shipped: "
            f'{", ".join(list_shipped_clips())}; or the path of a clip .yaml/.npz)')
    require(env.num_envs >= 1, 'env.num_envs', f'must be at least 1, got {env.num_envs}')
    require(env.episode_length_s > 0, 'env.episode_length_s', 'must be positive')
    require(env.action_scale > 0, 'env.action_scale', 'must be positive')
    require(env.action_clip > 0, 'env.action_clip', 'must be positive')
    require(env.default_pose in ('clip_mean', 'keyframe'), 'env.default_pose',
            f"must be 'clip_mean' or 'keyframe', got '{env.default_pose}'")
    require(env.physics in PHYSICS_CONFIGS, 'env.physics',
            f"unknown physics configuration '{env.physics}' (known: "
            f"{', '.join(sorted(PHYSICS_CONFIGS))})")
    require(env.action_rate_weight >= 0, 'env.action_rate_weight', 'must be at least 0')
    require(env.max_root_drift >= 0, 'env.max_root_drift', 'must be at least 0 (0 = off)')
    require(0 < env.action_filter_alpha <= 1, 'env.action_filter_alpha',
            f'must lie in (0, 1] (1 = no filter), got {env.action_filter_alpha}')
    require(env.randomization.max_latency_steps >= 0, 'env.randomization.max_latency_steps',
            'must be at least 0')
    # Hook (issue 29): the domain randomisation ranges; the older env.randomization draws
    # gains, friction and base mass its own way, so the two do not combine.
    check_domain_randomization(env.domain_randomization, require)
    require(not (env.randomization.enabled and env.domain_randomization.any_enabled),
            'env.randomization.enabled', 'env.domain_randomization replaces it; turn one off')
    velocity = env.base_linear_velocity
    require(velocity.scale > 0, 'env.base_linear_velocity.scale', 'must be positive')
    for name in ('noise', 'bias', 'max_latency_steps'):
        require(getattr(velocity, name) >= 0, f'env.base_linear_velocity.{name}',
                'must be at least 0')

    require(policy.kind in POLICY_KINDS, 'policy.kind',
            f"must be one of {', '.join(POLICY_KINDS)}, got '{policy.kind}'")
    for section in ('policy', 'critic'):
        activation = getattr(config, section).activation
        require(activation in ACTIVATIONS, f'{section}.activation',
                f"must be one of {', '.join(sorted(ACTIVATIONS))}, got '{activation}'")
        init = getattr(config, section).init
        require(init in INITS, f'{section}.init',
                f"must be one of {', '.join(INITS)}, got '{init}'")
    require(policy.phase_harmonics >= (1 if policy.kind == 'lpn' else 0),
            'policy.phase_harmonics', 'an LPN needs at least 1 harmonic (an MLP may use 0)')
    require(config.critic.phase_harmonics >= 0, 'critic.phase_harmonics', 'must be at least 0')
    require(policy.rank is None or policy.rank >= 1, 'policy.rank', 'must be null or >= 1')
    require(policy.initial_std > 0, 'policy.initial_std', 'must be positive')
    require(not (policy.spectral_norm and policy.kind != 'mlp'), 'policy.spectral_norm',
            'spectral normalisation is the MLP baseline; set policy.kind mlp')
    require(policy.lambda_sn > 0, 'policy.lambda_sn', 'must be positive')
    for key, sizes in (('policy.lpn_hidden_sizes', policy.lpn_hidden_sizes),
                       ('policy.mlp_hidden_sizes', policy.mlp_hidden_sizes),
                       ('critic.hidden_sizes', config.critic.hidden_sizes)):
        require(all(size >= 1 for size in sizes), key, f'sizes must be positive, got {sizes}')

    normalizer = config.normalizer
    for key in ('epsilon', 'std_offset'):
        require(getattr(normalizer, key) >= 0, f'normalizer.{key}', 'must be at least 0')
    require(normalizer.epsilon + normalizer.std_offset > 0, 'normalizer.std_offset',
            'normalizer.epsilon and normalizer.std_offset cannot both be 0 (a constant input '
            'would divide by zero)')
    require(normalizer.clip > 0, 'normalizer.clip', 'must be positive')

    penalty = config.penalty
    require(penalty.method in METHODS, 'penalty.method',
            f"must be one of {', '.join(METHODS)}, got '{penalty.method}'")
    require(penalty.weight >= 0, 'penalty.weight', 'must be at least 0')
    require(not (penalty.enabled and penalty.method == 'closed_form' and policy.kind != 'lpn'),
            'penalty.method', 'closed_form needs policy.kind lpn; for an MLP set '
            'penalty.method=exact or estimator')

    caps = config.caps
    for key in ('lambda_temporal', 'lambda_spatial', 'sigma'):
        require(getattr(caps, key) >= 0, f'caps.{key}', 'must be at least 0')
    require(config.gradient_penalty.weight >= 0, 'gradient_penalty.weight', 'must be at least 0')

    require(ppo.num_steps >= 1, 'ppo.num_steps', 'must be at least 1')
    require(1 <= ppo.num_minibatches <= ppo.num_steps * env.num_envs, 'ppo.num_minibatches',
            f'must lie in [1, ppo.num_steps * env.num_envs = {ppo.num_steps * env.num_envs}]')
    require(ppo.num_learning_epochs >= 1, 'ppo.num_learning_epochs', 'must be at least 1')
    require(ppo.learning_rate > 0, 'ppo.learning_rate', 'must be positive')
    require(0 < ppo.gamma <= 1, 'ppo.gamma', 'must lie in (0, 1]')
    require(0 <= ppo.lam <= 1, 'ppo.lam', 'must lie in [0, 1]')
    require(ppo.clip_param > 0, 'ppo.clip_param', 'must be positive')
    require(ppo.max_grad_norm > 0, 'ppo.max_grad_norm', 'must be positive')

    require(run.iterations >= 1, 'run.iterations', 'must be at least 1')
    require(run.checkpoint_every >= 1, 'run.checkpoint_every', 'must be at least 1')
    require(run.eval_every >= 0, 'run.eval_every', 'must be at least 0 (0 = never)')
    require(run.eval_episodes >= 1, 'run.eval_episodes', 'must be at least 1')
    # The smoothness metrics need a few samples; 0.2 s is 10 control steps at 50 Hz.
    require(run.eval_seconds >= 0.2, 'run.eval_seconds', 'must be at least 0.2')
    require(run.torch_threads >= 1, 'run.torch_threads', 'must be at least 1')
    require('/' not in run.run_name, 'run.run_name', 'must be a plain name, not a path')
