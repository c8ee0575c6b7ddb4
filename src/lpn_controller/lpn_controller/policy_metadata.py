"""
Exported-policy metadata (policy.yaml): dataclasses, parsing and validation.

The metadata is the single source of truth for joint order, observation layout, normalisation,
action scaling, PD gains, control rate and phase period. See POLICY_FORMAT.md for the file layout.
"""

from dataclasses import dataclass, field
from typing import Any, Dict, Mapping, Optional, Tuple

from lpn_controller.observation import expected_term_size, ObservationTerm, TERM_NAMES
import numpy as np

FORMAT_VERSION = 1
POLICY_KINDS = ('lpn', 'mlp')
ACTIVATIONS = ('elu', 'tanh', 'silu', 'relu')


class PolicyFormatError(ValueError):
    """A policy file is missing, corrupt or inconsistent; names the file and the field."""

    def __init__(self, source: str, field_name: str, problem: str):
        """Keep the parts so callers and tests can inspect them."""
        self.source = str(source)
        self.field = field_name
        self.problem = problem
        super().__init__(f'{self.source}: field {field_name!r}: {problem}')


@dataclass(frozen=True)
class NetworkSpec:
    """Network shape: phase harmonics H, hidden layer sizes, activation, LPN rank (None = full)."""

    phase_harmonics: int
    hidden_sizes: Tuple[int, ...]
    activation: str = 'elu'
    rank: Optional[int] = None


@dataclass(frozen=True, eq=False)
class PolicyMetadata:
    """Everything in policy.yaml, parsed; arrays are float64 numpy arrays in policy joint order."""

    kind: str
    joint_names: Tuple[str, ...]
    observation_terms: Tuple[ObservationTerm, ...]
    observation_mean: np.ndarray
    observation_std: np.ndarray
    action_scale: np.ndarray
    default_pose: np.ndarray
    kp: np.ndarray
    kd: np.ndarray
    control_rate_hz: float
    phase_period_s: float
    motion_clip: str
    network: NetworkSpec
    observation_clip: Optional[float] = None
    action_clip: Optional[float] = None
    action_filter_alpha: float = 1.0     # command = alpha a + (1 - alpha) previous command
    joint_lower_limits: Optional[np.ndarray] = None
    joint_upper_limits: Optional[np.ndarray] = None
    git_revision: str = 'unknown'
    training_config: Dict[str, Any] = field(default_factory=dict)
    physics: Optional[str] = None        # training's physics configuration; None: before the field
    # The domain randomisation ranges trained with ({group: {range: [low, high], ...}}); a
    # record for people and tools: the runtime never reads it. {} = none (or before the field).
    randomization: Dict[str, Any] = field(default_factory=dict)
    format_version: int = FORMAT_VERSION

    @property
    def num_joints(self) -> int:
        """Return the action dimension (one action per joint)."""
        return len(self.joint_names)

    @property
    def observation_size(self) -> int:
        """Return the observation size (the sum of the term sizes)."""
        return sum(term.size for term in self.observation_terms)


_TOP_LEVEL_FIELDS = (
    'format_version', 'kind', 'joint_names', 'observation', 'action', 'pd_gains', 'joint_limits',
    'control_rate_hz', 'physics', 'motion', 'network', 'provenance', 'randomization')


class _Reader:
    """Typed field access on the parsed YAML that raises PolicyFormatError naming the field."""

    def __init__(self, source: str):
        self.source = source

    def fail(self, name: str, problem: str):
        raise PolicyFormatError(self.source, name, problem)

    def section(self, data: Any, name: str, allowed: Tuple[str, ...]) -> Mapping:
        if not isinstance(data, Mapping):
            self.fail(name or '<document>', f'expected a mapping, got {type(data).__name__}')
        unknown = sorted(str(key) for key in data if key not in allowed)
        if unknown:
            self.fail(f'{name}.{unknown[0]}' if name else unknown[0],
                      f'unknown field (allowed here: {", ".join(allowed)})')
        return data

    def get(self, data: Mapping, key: str, name: str, required: bool = True) -> Any:
        if key not in data or data[key] is None:
            if required:
                self.fail(name, 'missing')
            return None
        return data[key]

    def number(self, value: Any, name: str, positive: bool = False) -> float:
        if isinstance(value, str):
            # YAML 1.1 reads 1e-5 (no dot) as a string; accept it rather than trip users up.
            try:
                value = float(value)
            except ValueError:
                self.fail(name, f'expected a number, got {value!r}')
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            self.fail(name, f'expected a number, got {value!r}')
        value = float(value)
        if not np.isfinite(value):
            self.fail(name, f'must be finite, got {value}')
        if positive and value <= 0.0:
            self.fail(name, f'must be positive, got {value}')
        return value

    def integer(self, value: Any, name: str, minimum: int) -> int:
        if isinstance(value, bool) or not isinstance(value, int):
            self.fail(name, f'expected an integer, got {value!r}')
        if value < minimum:
            self.fail(name, f'must be at least {minimum}, got {value}')
        return value

    def text(self, value: Any, name: str) -> str:
        if not isinstance(value, str) or not value:
            self.fail(name, f'expected a non-empty string, got {value!r}')
        return value

    def vector(self, value: Any, name: str, size: int, allow_scalar: bool = False) -> np.ndarray:
        if allow_scalar and not isinstance(value, (list, tuple)):
            return np.full(size, self.number(value, name))
        if not isinstance(value, (list, tuple)):
            self.fail(name, f'expected a list of {size} numbers, got {type(value).__name__}')
        if len(value) != size:
            self.fail(name, f'has {len(value)} entries, expected {size}')
        return np.array([self.number(item, f'{name}[{index}]') for index, item in
                         enumerate(value)])


def metadata_from_dict(data: Any, source: str = 'policy.yaml') -> PolicyMetadata:
    """Parse and validate the policy.yaml mapping; raise PolicyFormatError naming the field."""
    reader = _Reader(source)
    data = reader.section(data, '', _TOP_LEVEL_FIELDS)
    version = reader.integer(reader.get(data, 'format_version', 'format_version'),
                             'format_version', 1)
    if version != FORMAT_VERSION:
        reader.fail('format_version',
                    f'version {version} is not supported (this reader knows {FORMAT_VERSION})')
    kind = reader.get(data, 'kind', 'kind')
    if kind not in POLICY_KINDS:
        reader.fail('kind', f'must be one of {", ".join(POLICY_KINDS)}, got {kind!r}')

    names = reader.get(data, 'joint_names', 'joint_names')
    if not isinstance(names, list) or not names:
        reader.fail('joint_names', 'expected a non-empty list of joint names')
    joint_names = tuple(reader.text(name, f'joint_names[{i}]') for i, name in enumerate(names))
    if len(set(joint_names)) != len(joint_names):
        duplicates = sorted({name for name in joint_names if joint_names.count(name) > 1})
        reader.fail('joint_names', f'duplicate joint names: {", ".join(duplicates)}')
    num_joints = len(joint_names)

    observation = reader.section(reader.get(data, 'observation', 'observation'), 'observation',
                                 ('terms', 'normalization'))
    terms = _parse_terms(reader, reader.get(observation, 'terms', 'observation.terms'),
                         num_joints)
    observation_size = sum(term.size for term in terms)
    normalization = reader.section(
        reader.get(observation, 'normalization', 'observation.normalization'),
        'observation.normalization', ('mean', 'std', 'clip'))
    mean = reader.vector(reader.get(normalization, 'mean', 'observation.normalization.mean'),
                         'observation.normalization.mean', observation_size)
    std = reader.vector(reader.get(normalization, 'std', 'observation.normalization.std'),
                        'observation.normalization.std', observation_size)
    if np.any(std <= 0.0):
        reader.fail('observation.normalization.std',
                    f'entries must be positive (entry {int(np.argmin(std))} is {std.min()})')
    clip = reader.get(normalization, 'clip', 'observation.normalization.clip', required=False)
    observation_clip = None if clip is None else reader.number(
        clip, 'observation.normalization.clip', positive=True)

    action = reader.section(reader.get(data, 'action', 'action'), 'action',
                            ('scale', 'clip', 'default_pose', 'filter_alpha'))
    action_scale = reader.vector(reader.get(action, 'scale', 'action.scale'), 'action.scale',
                                 num_joints, allow_scalar=True)
    action_clip = reader.get(action, 'clip', 'action.clip', required=False)
    action_clip = None if action_clip is None else reader.number(
        action_clip, 'action.clip', positive=True)
    default_pose = reader.vector(reader.get(action, 'default_pose', 'action.default_pose'),
                                 'action.default_pose', num_joints)
    filter_alpha = reader.get(action, 'filter_alpha', 'action.filter_alpha', required=False)
    filter_alpha = 1.0 if filter_alpha is None else reader.number(
        filter_alpha, 'action.filter_alpha', positive=True)
    if filter_alpha > 1.0:
        reader.fail('action.filter_alpha', f'must lie in (0, 1] (1 = no filter), got '
                    f'{filter_alpha}')

    gains = reader.section(reader.get(data, 'pd_gains', 'pd_gains'), 'pd_gains', ('kp', 'kd'))
    kp = reader.vector(reader.get(gains, 'kp', 'pd_gains.kp'), 'pd_gains.kp', num_joints,
                       allow_scalar=True)
    kd = reader.vector(reader.get(gains, 'kd', 'pd_gains.kd'), 'pd_gains.kd', num_joints,
                       allow_scalar=True)
    if np.any(kp <= 0.0):
        reader.fail('pd_gains.kp', 'entries must be positive')
    if np.any(kd < 0.0):
        reader.fail('pd_gains.kd', 'entries must be non-negative')

    lower = upper = None
    limits = reader.get(data, 'joint_limits', 'joint_limits', required=False)
    if limits is not None:
        limits = reader.section(limits, 'joint_limits', ('lower', 'upper'))
        lower = reader.vector(reader.get(limits, 'lower', 'joint_limits.lower'),
                              'joint_limits.lower', num_joints)
        upper = reader.vector(reader.get(limits, 'upper', 'joint_limits.upper'),
                              'joint_limits.upper', num_joints)
        if np.any(lower >= upper):
            bad = joint_names[int(np.argmax(lower >= upper))]
            reader.fail('joint_limits', f'lower limit not below upper limit for joint {bad!r}')

    control_rate_hz = reader.number(reader.get(data, 'control_rate_hz', 'control_rate_hz'),
                                    'control_rate_hz', positive=True)
    physics = reader.get(data, 'physics', 'physics', required=False)
    physics = None if physics is None else reader.text(physics, 'physics')
    motion = reader.section(reader.get(data, 'motion', 'motion'), 'motion',
                            ('clip', 'period_s'))
    motion_clip = reader.text(reader.get(motion, 'clip', 'motion.clip'), 'motion.clip')
    period = reader.number(reader.get(motion, 'period_s', 'motion.period_s'), 'motion.period_s',
                           positive=True)

    network = _parse_network(reader, reader.get(data, 'network', 'network'), kind)
    provenance = reader.section(reader.get(data, 'provenance', 'provenance'), 'provenance',
                                ('git_revision', 'training_config'))
    git_revision = reader.text(reader.get(provenance, 'git_revision', 'provenance.git_revision'),
                               'provenance.git_revision')
    training_config = reader.get(provenance, 'training_config', 'provenance.training_config',
                                 required=False) or {}
    if not isinstance(training_config, Mapping):
        reader.fail('provenance.training_config', 'expected a mapping')

    randomization = reader.get(data, 'randomization', 'randomization', required=False) or {}
    if not isinstance(randomization, Mapping) or not all(
            isinstance(group, Mapping) for group in randomization.values()):
        reader.fail('randomization', 'expected a mapping of groups, each a mapping of ranges')

    return PolicyMetadata(
        kind=kind, joint_names=joint_names, observation_terms=terms, observation_mean=mean,
        observation_std=std, observation_clip=observation_clip, action_scale=action_scale,
        action_clip=action_clip, action_filter_alpha=filter_alpha, default_pose=default_pose,
        kp=kp, kd=kd, joint_lower_limits=lower, joint_upper_limits=upper,
        control_rate_hz=control_rate_hz, phase_period_s=period, motion_clip=motion_clip,
        network=network, git_revision=git_revision, training_config=dict(training_config),
        physics=physics, format_version=version,
        randomization={str(name): dict(group) for name, group in randomization.items()})


def _parse_terms(reader: _Reader, value: Any, num_joints: int) -> Tuple[ObservationTerm, ...]:
    if not isinstance(value, list) or not value:
        reader.fail('observation.terms', 'expected a non-empty list of terms')
    terms = []
    for index, entry in enumerate(value):
        name = f'observation.terms[{index}]'
        entry = reader.section(entry, name, ('name', 'size', 'scale'))
        term_name = reader.get(entry, 'name', f'{name}.name')
        if term_name not in TERM_NAMES:
            reader.fail(f'{name}.name',
                        f'unknown term {term_name!r} (known: {", ".join(TERM_NAMES)})')
        if any(term.name == term_name for term in terms):
            reader.fail(f'{name}.name', f'term {term_name!r} appears twice')
        size = reader.integer(reader.get(entry, 'size', f'{name}.size'), f'{name}.size', 1)
        expected = expected_term_size(term_name, num_joints)
        if expected is not None and size != expected:
            reader.fail(f'{name}.size',
                        f'term {term_name!r} must have size {expected} (for {num_joints} '
                        f'joints), got {size}')
        scale = reader.get(entry, 'scale', f'{name}.scale', required=False)
        if scale is None:
            scale = 1.0
        elif isinstance(scale, (list, tuple)):
            scale = tuple(float(x) for x in reader.vector(scale, f'{name}.scale', size))
        else:
            scale = reader.number(scale, f'{name}.scale')
        terms.append(ObservationTerm(term_name, size, scale))
    return tuple(terms)


def _parse_network(reader: _Reader, value: Any, kind: str) -> NetworkSpec:
    allowed = ('phase_harmonics', 'hidden_sizes', 'activation', 'rank')
    if kind == 'mlp':
        allowed = allowed[:3]
    value = reader.section(value, 'network', allowed)
    # An LPN without phase features would be one constant gain: require at least one harmonic.
    harmonics = reader.integer(reader.get(value, 'phase_harmonics', 'network.phase_harmonics'),
                               'network.phase_harmonics', 1 if kind == 'lpn' else 0)
    hidden = reader.get(value, 'hidden_sizes', 'network.hidden_sizes')
    if not isinstance(hidden, list):
        reader.fail('network.hidden_sizes', 'expected a list of layer sizes (may be empty)')
    hidden_sizes = tuple(reader.integer(size, f'network.hidden_sizes[{i}]', 1)
                         for i, size in enumerate(hidden))
    activation = reader.get(value, 'activation', 'network.activation')
    if activation not in ACTIVATIONS:
        reader.fail('network.activation',
                    f'must be one of {", ".join(ACTIVATIONS)}, got {activation!r}')
    rank = None
    if kind == 'lpn':
        rank = reader.get(value, 'rank', 'network.rank', required=False)
        if rank is not None:
            rank = reader.integer(rank, 'network.rank', 1)
    return NetworkSpec(harmonics, hidden_sizes, activation, rank)


def metadata_to_dict(metadata: PolicyMetadata) -> Dict[str, Any]:
    """Return the policy.yaml mapping for ``metadata`` (plain Python types, YAML-safe)."""
    def floats(array):
        if array is None:
            return None
        array = np.asarray(array, dtype=np.float64)
        # A scalar stays a scalar; the reader accepts one for scales and gains only.
        return float(array) if array.ndim == 0 else [float(x) for x in array.ravel()]

    network = {
        'phase_harmonics': int(metadata.network.phase_harmonics),
        'hidden_sizes': [int(size) for size in metadata.network.hidden_sizes],
        'activation': metadata.network.activation,
    }
    if metadata.kind == 'lpn':
        network['rank'] = None if metadata.network.rank is None else int(metadata.network.rank)
    data = {
        'format_version': int(metadata.format_version),
        'kind': metadata.kind,
        'joint_names': list(metadata.joint_names),
        'observation': {
            'terms': [
                {'name': term.name, 'size': int(term.size), 'scale': floats(term.scale)}
                for term in metadata.observation_terms],
            'normalization': {
                'mean': floats(metadata.observation_mean),
                'std': floats(metadata.observation_std),
                'clip': None if metadata.observation_clip is None
                else float(metadata.observation_clip),
            },
        },
        'action': {
            'scale': floats(metadata.action_scale),
            'clip': None if metadata.action_clip is None else float(metadata.action_clip),
            'default_pose': floats(metadata.default_pose),
            'filter_alpha': float(metadata.action_filter_alpha),
        },
        'pd_gains': {'kp': floats(metadata.kp), 'kd': floats(metadata.kd)},
        'joint_limits': None,
        'control_rate_hz': float(metadata.control_rate_hz),
        'motion': {'clip': metadata.motion_clip, 'period_s': float(metadata.phase_period_s)},
        'network': network,
        'provenance': {
            'git_revision': metadata.git_revision,
            'training_config': dict(metadata.training_config),
        },
    }
    if metadata.physics is not None:
        data['physics'] = metadata.physics
    if metadata.randomization:
        data['randomization'] = {name: dict(group)
                                 for name, group in metadata.randomization.items()}
    if metadata.joint_lower_limits is None and metadata.joint_upper_limits is None:
        del data['joint_limits']
    else:
        data['joint_limits'] = {'lower': floats(metadata.joint_lower_limits),
                                'upper': floats(metadata.joint_upper_limits)}
    return data
