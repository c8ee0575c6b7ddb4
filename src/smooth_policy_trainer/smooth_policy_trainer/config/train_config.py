"""
The training configuration: one tree of plain dataclasses, read from YAML with overrides.

The tree is ``env`` (EnvConfig, with ``env.randomization``, ``env.domain_randomization`` and
``env.base_linear_velocity``), ``policy``, ``critic``, ``normalizer`` (the observation
normaliser), ``ppo`` (PPOConfig), the actor regularisers ``penalty`` (action Jacobian), ``caps``
and ``gradient_penalty`` (GP-LCP), and ``run``. The other baselines are switches where they act:
``env.action_rate_weight``, ``env.action_filter_alpha`` and ``policy.spectral_norm``.
Every default lives in a dataclass (here and in env_config.py); the shipped files under
``config/`` write every key out. config/reader.py reads them; check_config adds the ranges and
the rules across keys. Nothing here imports torch or MuJoCo: the choices are config/choices.py.
"""

from dataclasses import dataclass, field
from typing import Optional, Tuple

from smooth_policy_trainer.config.choices import (ACTIVATIONS, INITS, JACOBIAN_METHODS,
                                                  POLICY_KINDS, PRIVILEGED_INPUTS)
from smooth_policy_trainer.config.domain_randomization import check_env_randomization
from smooth_policy_trainer.config.env_config import EnvConfig
from smooth_policy_trainer.config.reader import apply_override as reader_apply_override
from smooth_policy_trainer.config.reader import (build_config, checked, fail, one_of, ranged,
                                                 read_config)


def plain_name(name):
    """Return why ``name`` is not a plain file name, or None."""
    return 'must be a plain name, not a path' if '/' in name else None


@dataclass
class PPOConfig:
    """PPO hyper-parameters; the defaults are rsl_rl's for legged robots."""

    num_steps: int = ranged(24, 1)   # environment steps per rollout, per environment
    learning_rate: float = ranged(1e-3, 0, low_open=True)
    schedule: str = 'adaptive'     # 'adaptive' (KL-driven) or 'fixed'
    desired_kl: float = 0.01
    clip_param: float = ranged(0.2, 0, low_open=True)
    gamma: float = ranged(0.99, 0, 1, low_open=True)
    lam: float = ranged(0.95, 0, 1)
    value_loss_coef: float = 1.0
    use_clipped_value_loss: bool = True
    entropy_coef: float = 0.005
    num_learning_epochs: int = ranged(5, 1)
    num_minibatches: int = 4
    max_grad_norm: float = ranged(1.0, 0, low_open=True)
    min_std: float = 0.02          # floor on the exploration std (rad per action unit)

    def __post_init__(self):
        if self.schedule not in ('adaptive', 'fixed'):
            raise ValueError(f"ppo.schedule must be 'adaptive' or 'fixed', got '{self.schedule}'")


@dataclass
class PolicyConfig:
    """The actor. Hidden sizes are kept per kind, so ``--policy mlp`` gets an MLP-sized net."""

    kind: str = one_of('lpn', POLICY_KINDS)   # 'lpn' or 'mlp'
    activation: str = one_of('elu', ACTIVATIONS)
    phase_harmonics: int = ranged(2, 0)   # H: sin/cos of 2 pi h phase, h = 1..H
    initial_std: float = ranged(0.5, 0, low_open=True)   # exploration std, raw action units
    lpn_hidden_sizes: Tuple[int, ...] = ranged((64, 64), 1, each=True)   # the LPN's phase network
    rank: Optional[int] = ranged(8, 1)   # LPN: rank r of K = U V^T; null: full
    mlp_hidden_sizes: Tuple[int, ...] = ranged((256, 128, 64), 1, each=True)
    # The SN baseline (METHODS.md 4), MLP only: each layer's W -> lambda_sn W / sigma_max(W).
    spectral_norm: bool = False
    lambda_sn: float = ranged(1.0, 0, low_open=True)
    spectral_norm_output: bool = False   # the output layer too (reported with the results)
    # orthogonal (CleanRL) or default (PyTorch's, as rsl_rl)
    init: str = one_of('orthogonal', INITS)
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

    hidden_sizes: Tuple[int, ...] = ranged((256, 128, 64), 1, each=True)
    activation: str = one_of('elu', ACTIVATIONS)
    phase_harmonics: int = ranged(2, 0)
    init: str = one_of('orthogonal', INITS)   # as policy.init
    # What the simulation knows and the robot's sensors do not, for the critic only (envs/
    # privileged_inputs.py): e.g. [root_position_error] for a clip that must hold its place.
    privileged_inputs: Tuple[str, ...] = checked((), lambda names: None if all(
        name in PRIVILEGED_INPUTS for name in names) and len(set(names)) == len(names) else
        f"must list distinct names of {', '.join(PRIVILEGED_INPUTS)}, got {list(names)!r}")


@dataclass
class NormalizerConfig:
    """Running observation normaliser: (s - mean) / (sqrt(var + epsilon) + std_offset), clipped."""

    epsilon: float = ranged(1e-8, 0)   # inside the square root
    std_offset: float = ranged(0.0, 0)   # added to the std (rsl_rl: epsilon 0, std_offset 0.01)
    clip: float = ranged(10.0, 0, low_open=True)   # |normalised input| is clipped here
    # False holds the statistics it starts with: a second stage (run.init_from) keeps its first
    # stage's, which its actor's weights were learnt on
    update: bool = True


@dataclass
class PenaltyConfig:
    """The action Jacobian penalty w * mean ||da/ds||_F^2 (METHODS.md 1 and 2)."""

    enabled: bool = True
    weight: float = ranged(0.005, 0)
    # closed_form (LPN only), exact or estimator
    method: str = one_of('closed_form', JACOBIAN_METHODS)


@dataclass
class CapsConfig:
    """CAPS temporal and spatial losses on the actor (METHODS.md 5)."""

    enabled: bool = False
    lambda_temporal: float = ranged(0.1, 0)
    lambda_spatial: float = ranged(0.5, 0)
    sigma: float = ranged(0.2, 0)   # spatial neighbours, in normalised-observation units


@dataclass
class GradientPenaltyConfig:
    """GP-LCP: weight * mean ||grad_s log pi(a|s)||^2 (METHODS.md 3)."""

    enabled: bool = False
    weight: float = ranged(0.002, 0)


@dataclass
class RunConfig:
    """Length, seeding, checkpoints, evaluation and logging of one training run."""

    # total PPO iterations (a resumed run counts from its start)
    iterations: int = ranged(2000, 1)
    seed: int = 0                  # torch: initial weights, action noise, minibatch order
    checkpoint_every: int = ranged(50, 1)   # iterations; the last iteration is always saved too
    # iterations between deterministic evaluations; 0 = never
    eval_every: int = ranged(50, 0, note='(0 = never)')
    eval_episodes: int = ranged(8, 1)
    eval_seconds: float = ranged(5.0, 0.2)
    log_dir: str = 'runs'          # runs go to <log_dir>/<run_name>
    run_name: str = checked('', plain_name)   # '' = <clip>_<kind>_<YYYYmmdd-HHMMSS>
    torch_threads: int = ranged(1, 1)   # small networks: one thread is as fast and leaves a core
    # a checkpoint, run directory or exported policy that starts this run's networks (a second
    # stage, runners/init_from.py); '' = fresh networks
    init_from: str = ''
    # first iterations in which only the critic learns (the actor is held): for init_from an
    # exported policy, whose critic starts fresh
    critic_warmup_iterations: int = ranged(0, 0)


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
    """
    Check the rules that involve several keys; raise ConfigError naming the key to change.

    A key's own range or choices are checked by the reader as it reads the key (ranged, one_of).
    """
    def require(ok, key, problem):
        if not ok:
            fail(source, key, problem)

    policy, ppo, env = config.policy, config.ppo, config.env
    require(policy.phase_harmonics >= (1 if policy.kind == 'lpn' else 0),
            'policy.phase_harmonics', 'an LPN needs at least 1 harmonic (an MLP may use 0)')
    require(not (policy.spectral_norm and policy.kind != 'mlp'), 'policy.spectral_norm',
            'spectral normalisation is the MLP baseline; set policy.kind mlp')
    normalizer = config.normalizer
    require(normalizer.epsilon + normalizer.std_offset > 0, 'normalizer.std_offset',
            'normalizer.epsilon and normalizer.std_offset cannot both be 0 (a constant input '
            'would divide by zero)')
    penalty = config.penalty
    require(not (penalty.enabled and penalty.method == 'closed_form' and policy.kind != 'lpn'),
            'penalty.method', 'closed_form needs policy.kind lpn; for an MLP set '
            'penalty.method=exact or estimator')
    require(1 <= ppo.num_minibatches <= ppo.num_steps * env.num_envs, 'ppo.num_minibatches',
            f'must lie in [1, ppo.num_steps * env.num_envs = {ppo.num_steps * env.num_envs}]')
    check_env_randomization(env, require)
