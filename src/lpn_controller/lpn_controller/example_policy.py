"""
Random-weight example policies for tests, benchmarks and demos (not for a robot).

:func:`standard_observation_terms` is the suggested observation layout; trainers may use it as a
starting point, but the layout that counts is always the one written into the policy metadata.
"""

from typing import Dict, Optional, Sequence, Tuple

from lpn_controller.observation import ObservationTerm
from lpn_controller.policy_format import expected_weight_shapes
from lpn_controller.policy_metadata import NetworkSpec, PolicyMetadata
import numpy as np

MLP_HIDDEN_SIZES = (256, 128, 64)
LPN_HIDDEN_SIZES = (64, 64)
LPN_RANK = 8
PHASE_HARMONICS = 2


def standard_observation_terms(num_joints: int,
                               command_size: int = 0) -> Tuple[ObservationTerm, ...]:
    """Return gravity, angular velocity, joint positions/velocities, previous action[, command]."""
    terms = [
        ObservationTerm('projected_gravity', 3, 1.0),
        ObservationTerm('base_angular_velocity', 3, 0.25),
        ObservationTerm('joint_positions', num_joints, 1.0),
        ObservationTerm('joint_velocities', num_joints, 0.05),
        ObservationTerm('previous_action', num_joints, 1.0),
    ]
    if command_size:
        terms.append(ObservationTerm('command', command_size, 1.0))
    return tuple(terms)


def make_example_policy(
    kind: str,
    joint_names: Sequence[str],
    seed: int = 0,
    hidden_sizes: Optional[Sequence[int]] = None,
    rank: Optional[int] = LPN_RANK,
    phase_harmonics: int = PHASE_HARMONICS,
    activation: str = 'elu',
    command_size: int = 0,
    weight_scale: float = 0.3,
    control_rate_hz: float = 50.0,
    phase_period_s: float = 1.0,
    observation_terms: Optional[Sequence[ObservationTerm]] = None,
) -> Tuple[PolicyMetadata, Dict[str, np.ndarray]]:
    """
    Return (metadata, weights) of a random policy that passes validation.

    Hidden sizes default to the trainer's: [256, 128, 64] for an MLP, [64, 64] for the LPN phase
    network. ``weight_scale`` scales the random weights (small keeps actions moderate).
    ``observation_terms`` replaces the standard layout (``command_size`` is then ignored).
    """
    rng = np.random.default_rng(seed)
    num_joints = len(joint_names)
    if hidden_sizes is None:
        hidden_sizes = MLP_HIDDEN_SIZES if kind == 'mlp' else LPN_HIDDEN_SIZES
    terms = (tuple(observation_terms) if observation_terms is not None
             else standard_observation_terms(num_joints, command_size))
    observation_size = sum(term.size for term in terms)
    default_pose = rng.uniform(-0.5, 0.5, num_joints)
    metadata = PolicyMetadata(
        kind=kind,
        joint_names=tuple(joint_names),
        observation_terms=terms,
        observation_mean=rng.normal(0.0, 0.1, observation_size),
        observation_std=rng.uniform(0.5, 2.0, observation_size),
        observation_clip=5.0,
        action_scale=np.full(num_joints, 0.25),
        action_clip=10.0,
        default_pose=default_pose,
        kp=np.full(num_joints, 60.0),
        kd=np.full(num_joints, 2.0),
        joint_lower_limits=default_pose - 1.5,
        joint_upper_limits=default_pose + 1.5,
        control_rate_hz=control_rate_hz,
        phase_period_s=phase_period_s,
        motion_clip='example',
        network=NetworkSpec(phase_harmonics, tuple(hidden_sizes), activation,
                            rank if kind == 'lpn' else None),
        git_revision='example',
        training_config={'seed': seed, 'note': 'random weights'},
    )
    weights = {}
    for name, shape in expected_weight_shapes(metadata).items():
        fan_in = shape[1] if len(shape) == 2 else 1
        weights[name] = (weight_scale * rng.normal(0.0, 1.0, shape) / np.sqrt(fan_in))
    return metadata, weights
