"""
The off-policy training configuration: one tree of plain dataclasses, read like PPO's.

The tree is ``task`` ('gym' or 'imitation'), ``gym`` (the Gymnasium task), ``env`` (EnvConfig,
the imitation task), ``learner`` (what TD3 and SAC share), ``td3``, ``sac``, ``actor``,
``critic``, ``pave`` (critic regulariser, METHODS.md 7), ``caps`` (actor regulariser,
METHODS.md 5; train_config.CapsConfig) and ``run``. train_config's reader does the work: a YAML
file may leave keys out, ``--set a.b=value`` overrides one key, and unknown keys and values of
the wrong type or range raise ConfigError naming the key. The shipped files live in
``config/offpolicy/`` and write every key out.

Units: ``run.*_every`` and ``run.total_steps`` count environment transitions (all environments
together); ``learner.learning_starts`` too.
"""

from dataclasses import dataclass, field
from typing import Tuple

from smooth_policy_trainer.config.choices import (ACTIVATIONS, ACTOR_OUTPUTS, ALGORITHMS,
                                                  OFFPOLICY_TASKS)
from smooth_policy_trainer.config.env_config import EnvConfig
from smooth_policy_trainer.config.reader import (build_config, fail, read_config,
                                                 resolve_config_path, shipped_config_dirs)
from smooth_policy_trainer.config.train_config import CapsConfig, check_caps, check_env

TASKS = OFFPOLICY_TASKS
OUTPUTS = ACTOR_OUTPUTS
CONFIG_SUBDIR = 'offpolicy'


@dataclass
class LearnerConfig:
    """What TD3 and SAC share; the defaults are PAVE's training settings (METHODS.md 7)."""

    algorithm: str = 'td3'              # 'td3' or 'sac'
    gamma: float = 0.99
    tau: float = 0.005                  # Polyak factor of the target networks
    batch_size: int = 256
    buffer_size: int = 1_000_000        # transitions
    learning_starts: int = 10_000       # transitions of uniform random actions before learning
    actor_learning_rate: float = 1e-3
    critic_learning_rate: float = 1e-3
    updates_per_step: int = 1           # gradient updates after each step of all environments
    normalize_observations: bool = False   # running mean/std (the imitation tasks need it)
    max_grad_norm: float = 0.0          # 0: no gradient clipping


@dataclass
class TD3Config:
    """TD3's own settings (the shared ones are in LearnerConfig); CleanRL's defaults."""

    exploration_noise: float = 0.1   # std of the Gaussian added to actions while collecting
    policy_noise: float = 0.2        # std of the target policy smoothing noise
    noise_clip: float = 0.5          # the target noise is clipped to +-noise_clip
    policy_delay: int = 2            # critic updates per actor (and target) update


@dataclass
class SACConfig:
    """SAC's own settings (the shared ones are in LearnerConfig)."""

    alpha: float = 0.2                  # entropy temperature (its start value when autotuned)
    autotune: bool = True
    alpha_learning_rate: float = 1e-3
    target_entropy_scale: float = 1.0   # target entropy = -scale * number of actions
    log_std_min: float = -5.0
    log_std_max: float = 2.0


@dataclass
class PaveConfig:
    """PAVE's critic terms; the defaults are the published ones."""

    enabled: bool = False
    lambda_mpr: float = 0.1          # l1
    lambda_vfc: float = 0.1          # l2
    lambda_curvature: float = 0.01   # l3
    state_noise_std: float = 0.01    # eps std, in the units of the critic's state input
    curvature_margin: float = 1.0    # delta
    probes: int = 1                  # Rademacher vectors per sample


@dataclass
class GymTaskConfig:
    """A Gymnasium task with a continuous action space (gym_tasks.GymVectorEnv)."""

    env_id: str = 'Pendulum-v1'
    num_envs: int = 1
    seed: int = 0                  # environment i starts from seed + i


@dataclass
class ActorConfig:
    """The actor: an MLP (SiLU for PAVE, METHODS.md 7) with a tanh or linear output."""

    hidden_sizes: Tuple[int, ...] = (256, 256)
    activation: str = 'silu'
    output: str = 'tanh'           # 'tanh' (Gym) or 'linear' (exportable; imitation tasks)
    phase_harmonics: int = 2       # imitation tasks only: Gym tasks have no phase
    bound_penalty: float = 1.0     # linear output: weight of the squared excess beyond the box


@dataclass
class QCriticConfig:
    """Each of the twin Q networks."""

    hidden_sizes: Tuple[int, ...] = (256, 256)
    activation: str = 'silu'
    phase_harmonics: int = 2       # imitation tasks only


@dataclass
class OffPolicyRunConfig:
    """Length, seeding, checkpoints, evaluation and logging of one run (counts: transitions)."""

    total_steps: int = 100_000
    seed: int = 0                  # torch: initial weights, exploration, replay sampling
    checkpoint_every: int = 10_000
    keep_checkpoints: int = 2      # each holds the replay buffer: older ones are deleted
    eval_every: int = 10_000       # deterministic evaluation and critic diagnostics; 0 = never
    eval_episodes: int = 10
    eval_seconds: float = 10.0     # imitation tasks; Gym episodes run to their end
    diagnostic_samples: int = 512  # replay transitions the critic diagnostics look at
    log_every: int = 1_000         # TensorBoard scalars (averaged over the period)
    log_dir: str = 'runs'
    run_name: str = ''             # '' = <task>_<algorithm>[_pave][_caps]_<YYYYmmdd-HHMMSS>
    torch_threads: int = 1


@dataclass
class OffPolicyConfig:
    """The whole tree; written into every checkpoint and into the exported policy."""

    task: str = 'gym'              # 'gym' or 'imitation'
    gym: GymTaskConfig = field(default_factory=GymTaskConfig)
    env: EnvConfig = field(default_factory=EnvConfig)
    learner: LearnerConfig = field(default_factory=LearnerConfig)
    td3: TD3Config = field(default_factory=TD3Config)
    sac: SACConfig = field(default_factory=SACConfig)
    actor: ActorConfig = field(default_factory=ActorConfig)
    critic: QCriticConfig = field(default_factory=QCriticConfig)
    pave: PaveConfig = field(default_factory=PaveConfig)
    caps: CapsConfig = field(default_factory=CapsConfig)
    run: OffPolicyRunConfig = field(default_factory=OffPolicyRunConfig)


def load_offpolicy_config(path=None, overrides=()):
    """Return the OffPolicyConfig of a YAML file or shipped name (None: defaults), overridden."""
    if path is not None:
        path = resolve_offpolicy_config_path(path)
    return read_config(path, overrides, OffPolicyConfig, check_offpolicy_config)


def offpolicy_config_from_dict(data, source='<dict>'):
    """Build and check an OffPolicyConfig from a (partial) nested mapping."""
    return build_config(data, source, OffPolicyConfig, check_offpolicy_config)


def offpolicy_config_dirs():
    """Return the folders that hold the shipped off-policy configs."""
    return [folder / CONFIG_SUBDIR for folder in shipped_config_dirs()
            if (folder / CONFIG_SUBDIR).is_dir()]


def resolve_offpolicy_config_path(path):
    """Return an existing config file: ``path`` itself, or a shipped config's name."""
    return resolve_config_path(path, offpolicy_config_dirs(), 'off-policy configs')


def check_offpolicy_config(config, source='<config>'):
    """Check ranges and combinations the types cannot express; raise ConfigError naming keys."""
    def require(ok, key, problem):
        if not ok:
            fail(source, key, problem)

    # The env and caps sections are train_config's own; its checks name their keys alike.
    check_env(config.env, require)
    check_caps(config.caps, require)
    require(config.task in TASKS, 'task', f"must be one of {', '.join(TASKS)}, got "
            f"'{config.task}'")
    if config.task == 'gym':
        import gymnasium as gym  # looked up when checked: reading a config needs no Gymnasium
        try:
            gym.spec(config.gym.env_id)
        except gym.error.Error as error:
            require(False, 'gym.env_id', f"unknown Gymnasium task '{config.gym.env_id}' "
                    f'({error})')
    require(config.gym.num_envs >= 1, 'gym.num_envs', 'must be at least 1')

    learner, actor, critic = config.learner, config.actor, config.critic
    require(learner.algorithm in ALGORITHMS, 'learner.algorithm',
            f"must be one of {', '.join(ALGORITHMS)}, got '{learner.algorithm}'")
    require(0 < learner.gamma <= 1, 'learner.gamma', 'must lie in (0, 1]')
    require(0 < learner.tau <= 1, 'learner.tau', 'must lie in (0, 1]')
    require(learner.batch_size >= 1, 'learner.batch_size', 'must be at least 1')
    require(learner.buffer_size >= learner.batch_size, 'learner.buffer_size',
            f'must hold at least one batch ({learner.batch_size})')
    require(learner.learning_starts >= learner.batch_size, 'learner.learning_starts',
            f'must be at least learner.batch_size ({learner.batch_size})')
    for key in ('actor_learning_rate', 'critic_learning_rate'):
        require(getattr(learner, key) > 0, f'learner.{key}', 'must be positive')
    require(learner.updates_per_step >= 1, 'learner.updates_per_step', 'must be at least 1')
    require(learner.max_grad_norm >= 0, 'learner.max_grad_norm', 'must be at least 0 (0 = off)')

    require(actor.output in OUTPUTS, 'actor.output',
            f"must be one of {', '.join(OUTPUTS)}, got '{actor.output}'")
    if config.task == 'imitation':
        require(actor.output == 'linear', 'actor.output', 'imitation tasks export to the '
                'lpn_controller format, whose MLP has a linear head: set it to linear')
        require(learner.normalize_observations, 'learner.normalize_observations',
                'imitation tasks need it (the exported policy carries the normalisation)')
    require(actor.bound_penalty >= 0, 'actor.bound_penalty', 'must be at least 0')
    for section, network in (('actor', actor), ('critic', critic)):
        require(network.activation in ACTIVATIONS, f'{section}.activation',
                f"must be one of {', '.join(sorted(ACTIVATIONS))}, got '{network.activation}'")
        require(all(size >= 1 for size in network.hidden_sizes), f'{section}.hidden_sizes',
                f'sizes must be positive, got {network.hidden_sizes}')
        require(network.phase_harmonics >= 0, f'{section}.phase_harmonics',
                'must be at least 0')
    require(not (config.pave.enabled and critic.activation == 'relu'), 'critic.activation',
            "PAVE's curvature term needs a smooth critic (relu has no second derivative): "
            'use silu')

    td3, sac, pave = config.td3, config.sac, config.pave
    for key in ('exploration_noise', 'policy_noise', 'noise_clip'):
        require(getattr(td3, key) >= 0, f'td3.{key}', 'must be at least 0')
    require(td3.policy_delay >= 1, 'td3.policy_delay', 'must be at least 1')
    require(sac.alpha > 0, 'sac.alpha', 'must be positive')
    require(sac.alpha_learning_rate > 0, 'sac.alpha_learning_rate', 'must be positive')
    require(sac.log_std_min < sac.log_std_max, 'sac.log_std_min',
            f'must be below sac.log_std_max ({sac.log_std_max})')
    for key in ('lambda_mpr', 'lambda_vfc', 'lambda_curvature', 'state_noise_std',
                'curvature_margin'):
        require(getattr(pave, key) >= 0, f'pave.{key}', 'must be at least 0')
    require(pave.probes >= 1, 'pave.probes', 'must be at least 1')

    run = config.run
    for key in ('total_steps', 'checkpoint_every', 'keep_checkpoints', 'eval_episodes',
                'log_every', 'torch_threads'):
        require(getattr(run, key) >= 1, f'run.{key}', 'must be at least 1')
    require(run.eval_every >= 0, 'run.eval_every', 'must be at least 0 (0 = never)')
    require(run.eval_seconds >= 0.2, 'run.eval_seconds', 'must be at least 0.2')
    require(run.diagnostic_samples >= 2, 'run.diagnostic_samples', 'must be at least 2')
    require('/' not in run.run_name, 'run.run_name', 'must be a plain name, not a path')
