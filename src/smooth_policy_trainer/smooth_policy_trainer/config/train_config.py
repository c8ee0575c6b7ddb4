"""
The training configuration: one tree of plain dataclasses, read from YAML with overrides.

The tree is ``env`` (EnvConfig, with ``env.randomization`` and ``env.base_linear_velocity``),
``policy``, ``critic``, ``normalizer`` (the observation normaliser), ``ppo`` (PPOConfig), the
actor regularisers ``penalty`` (action Jacobian), ``caps`` and ``gradient_penalty`` (GP-LCP),
and ``run``. The other baselines are switches where they act: ``env.action_rate_weight``,
``env.action_filter_alpha`` and ``policy.spectral_norm``.
Every default lives in a dataclass (here and in env_config.py); the shipped files under
``config/`` write every key out. config/reader.py reads them; check_config adds the ranges and
the rules across keys. Nothing here imports torch or MuJoCo: the choices are config/choices.py.
"""

from dataclasses import dataclass, field
from pathlib import Path
from typing import Optional, Tuple

from smooth_policy_trainer.config.choices import (ACTIVATIONS, DEFAULT_POSES, INITS,
                                                  JACOBIAN_METHODS, PHYSICS, POLICY_KINDS)
from smooth_policy_trainer.config.env_config import EnvConfig
from smooth_policy_trainer.config.reader import apply_override as reader_apply_override
from smooth_policy_trainer.config.reader import build_config, fail, read_config
from smooth_policy_trainer.motion.clip_files import list_shipped_clips


@dataclass
class PPOConfig:
    """PPO hyper-parameters; the defaults are rsl_rl's for legged robots."""

    num_steps: int = 24            # environment steps per rollout, per environment
    learning_rate: float = 1e-3
    schedule: str = 'adaptive'     # 'adaptive' (KL-driven) or 'fixed'
    desired_kl: float = 0.01
    clip_param: float = 0.2
    gamma: float = 0.99
    lam: float = 0.95
    value_loss_coef: float = 1.0
    use_clipped_value_loss: bool = True
    entropy_coef: float = 0.005
    num_learning_epochs: int = 5
    num_minibatches: int = 4
    max_grad_norm: float = 1.0
    min_std: float = 0.02          # floor on the exploration std (rad per action unit)

    def __post_init__(self):
        if self.schedule not in ('adaptive', 'fixed'):
            raise ValueError(f"ppo.schedule must be 'adaptive' or 'fixed', got '{self.schedule}'")


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
    # (runners/warm_start.py): the policy starts as the open-loop replay.
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


# -- reading (config/reader.py does the work) ----------------------------------------------------

def load_config(path=None, overrides=(), root=None, check=None):
    """
    Return the TrainConfig of a YAML file (None: all defaults) with ``key=value`` overrides.

    ``root`` and ``check`` read another tree the same way; by default they are TrainConfig and
    check_config.
    """
    return read_config(path, overrides, root or TrainConfig, check or check_config)


def config_from_dict(data, source='<dict>', root=None, check=None):
    """Build and check a TrainConfig (or a ``root`` tree) from a (partial) nested mapping."""
    return build_config(data, source, root or TrainConfig, check or check_config)


def apply_override(data, assignment, root=None):
    """Apply one ``a.b.c=value`` override (value parsed as YAML) to the raw mapping ``data``."""
    reader_apply_override(data, assignment, root or TrainConfig)


# -- checking ------------------------------------------------------------------------------------

def check_config(config, source='<config>'):
    """Check ranges and combinations the types cannot express; raise ConfigError naming keys."""
    def require(ok, key, problem):
        if not ok:
            fail(source, key, problem)

    check_env(config.env, require)
    check_caps(config.caps, require)
    policy, ppo, run, env = config.policy, config.ppo, config.run, config.env

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
    require(penalty.method in JACOBIAN_METHODS, 'penalty.method',
            f"must be one of {', '.join(JACOBIAN_METHODS)}, got '{penalty.method}'")
    require(penalty.weight >= 0, 'penalty.weight', 'must be at least 0')
    require(not (penalty.enabled and penalty.method == 'closed_form' and policy.kind != 'lpn'),
            'penalty.method', 'closed_form needs policy.kind lpn; for an MLP set '
            'penalty.method=exact or estimator')

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


def check_env(env, require):
    """Check the env section; ``require(ok, key, problem)`` raises naming the key."""
    clip_path = Path(env.clip)
    require(env.clip in list_shipped_clips() or (clip_path.suffix in ('.yaml', '.npz')
                                                 and clip_path.is_file()),
            'env.clip', f"unknown clip '{env.clip}' (shipped: "
            f'{", ".join(list_shipped_clips())}; or the path of a clip .yaml/.npz)')
    require(env.num_envs >= 1, 'env.num_envs', f'must be at least 1, got {env.num_envs}')
    require(env.episode_length_s > 0, 'env.episode_length_s', 'must be positive')
    require(env.action_scale > 0, 'env.action_scale', 'must be positive')
    require(env.action_clip > 0, 'env.action_clip', 'must be positive')
    require(env.default_pose in DEFAULT_POSES, 'env.default_pose',
            f"must be 'clip_mean' or 'keyframe', got '{env.default_pose}'")
    require(env.physics in PHYSICS, 'env.physics',
            f"unknown physics configuration '{env.physics}' (known: "
            f"{', '.join(sorted(PHYSICS))})")
    require(env.action_rate_weight >= 0, 'env.action_rate_weight', 'must be at least 0')
    require(env.max_root_drift >= 0, 'env.max_root_drift', 'must be at least 0 (0 = off)')
    require(0 < env.action_filter_alpha <= 1, 'env.action_filter_alpha',
            f'must lie in (0, 1] (1 = no filter), got {env.action_filter_alpha}')
    require(env.randomization.max_latency_steps >= 0, 'env.randomization.max_latency_steps',
            'must be at least 0')
    velocity = env.base_linear_velocity
    require(velocity.scale > 0, 'env.base_linear_velocity.scale', 'must be positive')
    for name in ('noise', 'bias', 'max_latency_steps'):
        require(getattr(velocity, name) >= 0, f'env.base_linear_velocity.{name}',
                'must be at least 0')


def check_caps(caps, require):
    """Check the caps section (PPO's and the off-policy learners' CAPS)."""
    for key in ('lambda_temporal', 'lambda_spatial', 'sigma'):
        require(getattr(caps, key) >= 0, f'caps.{key}', 'must be at least 0')
