"""
The off-policy training configuration: one tree of plain dataclasses, read like PPO's.

The tree is ``task`` ('gym' or 'imitation'), ``gym`` (the Gymnasium task), ``env`` (EnvConfig,
the imitation task), ``learner`` (what TD3 and SAC share), ``td3``, ``sac``, ``actor``,
``critic``, ``pave`` (critic regulariser, METHODS.md 7), ``caps`` (actor regulariser,
METHODS.md 5; train_config.CapsConfig) and ``run``. config/reader.py does the work: a YAML
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
from smooth_policy_trainer.config.domain_randomization import check_env_randomization
from smooth_policy_trainer.config.env_config import EnvConfig
from smooth_policy_trainer.config.reader import (build_config, checked, fail, one_of, ranged,
                                                 read_config, resolve_config_path,
                                                 shipped_config_dirs)
from smooth_policy_trainer.config.train_config import CapsConfig, plain_name

TASKS = OFFPOLICY_TASKS
OUTPUTS = ACTOR_OUTPUTS
CONFIG_SUBDIR = 'offpolicy'


@dataclass
class LearnerConfig:
    """What TD3 and SAC share; the defaults are PAVE's training settings (METHODS.md 7)."""

    algorithm: str = one_of('td3', ALGORITHMS)   # 'td3' or 'sac'
    gamma: float = ranged(0.99, 0, 1, low_open=True)
    tau: float = ranged(0.005, 0, 1, low_open=True)   # Polyak factor of the target networks
    batch_size: int = ranged(256, 1)
    buffer_size: int = 1_000_000        # transitions
    learning_starts: int = 10_000       # transitions of uniform random actions before learning
    actor_learning_rate: float = ranged(1e-3, 0, low_open=True)
    critic_learning_rate: float = ranged(1e-3, 0, low_open=True)
    updates_per_step: int = ranged(1, 1)   # gradient updates after each step of all environments
    normalize_observations: bool = False   # running mean/std (the imitation tasks need it)
    max_grad_norm: float = ranged(0.0, 0, note='(0 = off)')   # 0: no gradient clipping


@dataclass
class TD3Config:
    """TD3's own settings (the shared ones are in LearnerConfig); CleanRL's defaults."""

    # std of the Gaussian added to actions while collecting
    exploration_noise: float = ranged(0.1, 0)
    policy_noise: float = ranged(0.2, 0)   # std of the target policy smoothing noise
    noise_clip: float = ranged(0.5, 0)   # the target noise is clipped to +-noise_clip
    policy_delay: int = ranged(2, 1)   # critic updates per actor (and target) update


@dataclass
class SACConfig:
    """SAC's own settings (the shared ones are in LearnerConfig)."""

    # entropy temperature (its start value when autotuned)
    alpha: float = ranged(0.2, 0, low_open=True)
    autotune: bool = True
    alpha_learning_rate: float = ranged(1e-3, 0, low_open=True)
    target_entropy_scale: float = 1.0   # target entropy = -scale * number of actions
    log_std_min: float = -5.0
    log_std_max: float = 2.0


@dataclass
class PaveConfig:
    """PAVE's critic terms; the defaults are the published ones."""

    enabled: bool = False
    lambda_mpr: float = ranged(0.1, 0)   # l1
    lambda_vfc: float = ranged(0.1, 0)   # l2
    lambda_curvature: float = ranged(0.01, 0)   # l3
    state_noise_std: float = ranged(0.01, 0)   # eps std, in the units of the critic's state input
    curvature_margin: float = ranged(1.0, 0)   # delta
    probes: int = ranged(1, 1)   # Rademacher vectors per sample


@dataclass
class GymTaskConfig:
    """A Gymnasium task with a continuous action space (gym_tasks.GymVectorEnv)."""

    env_id: str = 'Pendulum-v1'
    num_envs: int = ranged(1, 1)
    seed: int = 0                  # environment i starts from seed + i


@dataclass
class ActorConfig:
    """The actor: an MLP (SiLU for PAVE, METHODS.md 7) with a tanh or linear output."""

    hidden_sizes: Tuple[int, ...] = ranged((256, 256), 1, each=True)
    activation: str = one_of('silu', ACTIVATIONS)
    # 'tanh' (Gym) or 'linear' (exportable; imitation tasks)
    output: str = one_of('tanh', ACTOR_OUTPUTS)
    phase_harmonics: int = ranged(2, 0)   # imitation tasks only: Gym tasks have no phase
    # linear output: weight of the squared excess beyond the box
    bound_penalty: float = ranged(1.0, 0)


@dataclass
class QCriticConfig:
    """Each of the twin Q networks."""

    hidden_sizes: Tuple[int, ...] = ranged((256, 256), 1, each=True)
    activation: str = one_of('silu', ACTIVATIONS)
    phase_harmonics: int = ranged(2, 0)   # imitation tasks only


@dataclass
class OffPolicyRunConfig:
    """Length, seeding, checkpoints, evaluation and logging of one run (counts: transitions)."""

    total_steps: int = ranged(100_000, 1)
    seed: int = 0                  # torch: initial weights, exploration, replay sampling
    checkpoint_every: int = ranged(10_000, 1)
    keep_checkpoints: int = ranged(2, 1)   # each holds the replay buffer: older ones are deleted
    # deterministic evaluation and critic diagnostics; 0 = never
    eval_every: int = ranged(10_000, 0, note='(0 = never)')
    eval_episodes: int = ranged(10, 1)
    eval_seconds: float = ranged(10.0, 0.2)   # imitation tasks; Gym episodes run to their end
    diagnostic_samples: int = ranged(512, 2)   # replay transitions the critic diagnostics look at
    log_every: int = ranged(1_000, 1)   # TensorBoard scalars (averaged over the period)
    log_dir: str = 'runs'
    # '' = <task>_<algorithm>[_pave][_caps]_<YYYYmmdd-HHMMSS>
    run_name: str = checked('', plain_name)
    torch_threads: int = ranged(1, 1)


@dataclass
class OffPolicyConfig:
    """The whole tree; written into every checkpoint and into the exported policy."""

    task: str = one_of('gym', OFFPOLICY_TASKS)   # 'gym' or 'imitation'
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
    """
    Check the rules that involve several keys; raise ConfigError naming the key to change.

    A key's own range or choices are checked by the reader as it reads the key (ranged, one_of).
    """
    def require(ok, key, problem):
        if not ok:
            fail(source, key, problem)

    if config.task == 'gym':
        import gymnasium as gym  # looked up when checked: reading a config needs no Gymnasium
        try:
            gym.spec(config.gym.env_id)
        except gym.error.Error as error:
            require(False, 'gym.env_id', f"unknown Gymnasium task '{config.gym.env_id}' "
                    f'({error})')
    learner, actor, critic = config.learner, config.actor, config.critic
    require(learner.buffer_size >= learner.batch_size, 'learner.buffer_size',
            f'must hold at least one batch ({learner.batch_size})')
    require(learner.learning_starts >= learner.batch_size, 'learner.learning_starts',
            f'must be at least learner.batch_size ({learner.batch_size})')
    if config.task == 'imitation':
        check_env_randomization(config.env, require)
        require(actor.output == 'linear', 'actor.output', 'imitation tasks export to the '
                'lpn_controller format, whose MLP has a linear head: set it to linear')
        require(learner.normalize_observations, 'learner.normalize_observations',
                'imitation tasks need it (the exported policy carries the normalisation)')
    require(not (config.pave.enabled and critic.activation == 'relu'), 'critic.activation',
            "PAVE's curvature term needs a smooth critic (relu has no second derivative): "
            'use silu')
    sac = config.sac
    require(sac.log_std_min < sac.log_std_max, 'sac.log_std_min',
            f'must be below sac.log_std_max ({sac.log_std_max})')
