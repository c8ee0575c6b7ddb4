"""The training config tree: YAML files, --set overrides, and errors that name the key."""

from pathlib import Path

import pytest
from smooth_policy_trainer.config.reader import (config_to_dict, ConfigError, read_with_base,
                                                 resolve_config_path, shipped_config_dirs)
from smooth_policy_trainer.config.train_config import (apply_override, config_from_dict,
                                                       load_config, TrainConfig)
import yaml

CONFIG_DIR = Path(__file__).resolve().parents[2] / 'config'
SHIPPED = sorted(CONFIG_DIR.glob('*.yaml'))


def key_paths(mapping, prefix=''):
    """Return every leaf key of a nested mapping as a dotted path."""
    paths = set()
    for key, value in mapping.items():
        path = f'{prefix}{key}'
        # An empty mapping (env.joint_remap: {}) is a key written down too.
        paths |= (key_paths(value, path + '.') if isinstance(value, dict) and value
                  else {path})
    return paths


def test_the_shipped_configs_load_and_write_every_key_down():
    assert {path.stem for path in SHIPPED} >= {'lpn_trot_arm_wave', 'mlp_trot_arm_wave',
                                               'mlp_jacobian_trot_arm_wave'}
    every_key = key_paths(config_to_dict(TrainConfig()))
    for path in SHIPPED:
        config = load_config(path)
        written = key_paths(read_with_base(path))   # a second stage: with its base
        assert written == every_key, f'{path.name}: missing {sorted(every_key - written)}'
        assert 32 <= config.env.num_envs <= 64


def test_the_lpn_config_is_the_papers_setting():
    config = load_config('lpn_trot_arm_wave')   # a shipped config by name
    assert config.env.clip == 'trot_arm_wave'
    assert (config.policy.kind, config.policy.rank, config.policy.phase_harmonics) == \
        ('lpn', 8, 2)
    assert config.policy.lpn_hidden_sizes == (64, 64)
    assert config.penalty.enabled and config.penalty.method == 'closed_form'
    # 0.005 let a run oscillate near Nyquist on the kp 500 servos; 0.05 kept HFR <= 0.12 %.
    assert 0.01 < config.penalty.weight <= 0.1
    assert resolve_config_path('lpn_trot_arm_wave.yaml').parent in shipped_config_dirs()


def test_overrides_are_parsed_as_yaml_and_typed():
    config = load_config(None, ['ppo.learning_rate=3e-4', 'policy.rank=null',
                                'policy.lpn_hidden_sizes=[32, 16]', 'penalty.enabled=false',
                                'env.reward_terms.pose.weight=0.6', 'run.eval_seconds=2'])
    assert config.ppo.learning_rate == 3e-4 and isinstance(config.ppo.learning_rate, float)
    assert config.policy.rank is None
    assert config.policy.lpn_hidden_sizes == (32, 16)
    assert config.penalty.enabled is False
    assert config.run.eval_seconds == 2.0
    # A partial mapping keeps the other reward terms and the pose scale.
    assert config.env.reward_terms['pose'] == {'weight': 0.6, 'scale': 2.0}
    assert config.env.reward_terms['root'] == {'weight': 0.15, 'scale': 10.0}
    # env.joint_remap takes any clip joint names, one key at a time or as a mapping.
    config = load_config(None, ['env.joint_remap.arm_sh0=x_arm_sh0',
                                'env.joint_remap.arm_sh1=x_arm_sh1'])
    assert config.env.joint_remap == {'arm_sh0': 'x_arm_sh0', 'arm_sh1': 'x_arm_sh1'}
    assert load_config(None, ['env.joint_remap={a: b}']).env.joint_remap == {'a': 'b'}
    assert config_to_dict(config)['env']['joint_remap'] == config.env.joint_remap


def test_the_config_round_trips_through_plain_types():
    config = load_config('lpn_trot_arm_wave', ['env.randomization.enabled=true'])
    plain = config_to_dict(config)
    assert yaml.safe_load(yaml.safe_dump(plain)) == plain
    assert config_from_dict(plain) == config


@pytest.mark.parametrize('assignment, key, problem', [
    ('ppo.learning_rat=1', 'ppo.learning_rat', 'unknown key'),
    ('ppo.num_steps=abc', 'ppo.num_steps', 'expected an integer'),
    ('ppo.num_steps=2.5', 'ppo.num_steps', 'expected an integer'),
    ('penalty.enabled=yes please', 'penalty.enabled', 'expected true or false'),
    ('env.reward_terms.jump.weight=1', 'env.reward_terms.jump', 'unknown key'),
    ('env.randomization.friction=[1.0]', 'env.randomization.friction', 'expected 2 numbers'),
    ('ppo.gamma.x=1', 'ppo.gamma', 'not a section'),
    ('policy.kind=cnn', 'policy.kind', 'must be one of lpn, mlp'),
    ('env.clip=moonwalk', 'env.clip', "unknown clip 'moonwalk'"),
    ('ppo.schedule=cosine', 'ppo', "ppo.schedule must be 'adaptive' or 'fixed'"),
    ('policy.kind=mlp', 'penalty.method', 'closed_form needs policy.kind lpn'),
    ('run.iterations=0', 'run.iterations', 'must be at least 1, got 0'),
    # Ranges live with the fields, nested ones too; the check keeps the rules across keys.
    ('env.base_linear_velocity.noise=-0.1', 'env.base_linear_velocity.noise',
     'must be at least 0, got -0.1'),
    ('env.action_filter_alpha=0', 'env.action_filter_alpha',
     'must lie in (0, 1] (1 = no filter), got 0.0'),
    ('ppo.learning_rate=0', 'ppo.learning_rate', 'must be positive'),
    ('critic.hidden_sizes=[64, 0]', 'critic.hidden_sizes', 'elements must be at least 1'),
    ('env.physics=turbo', 'env.physics', "must be one of fast, full, got 'turbo'"),
    ('policy.rank=0', 'policy.rank', 'must be at least 1'),
    ('run.run_name=a/b', 'run.run_name', 'must be a plain name'),
    ('ppo.num_minibatches=100000', 'ppo.num_minibatches', 'must lie in [1, ppo.num_steps'),
    ('env.joint_remap.arm_sh0=1', 'env.joint_remap.arm_sh0', 'expected a string'),
    ('env.joint_remap=[arm_sh0]', 'env.joint_remap', 'expected a mapping'),
])
def test_bad_overrides_fail_naming_the_key(assignment, key, problem):
    with pytest.raises(ConfigError) as error:
        load_config('lpn_trot_arm_wave', [assignment])
    assert f"key '{key}'" in str(error.value) and problem in str(error.value)


def test_malformed_assignments_and_files_fail_clearly(tmp_path):
    with pytest.raises(ConfigError, match='expected key=value'):
        apply_override({}, 'ppo.learning_rate')
    with pytest.raises(ConfigError, match='not valid YAML'):
        apply_override({}, 'policy.lpn_hidden_sizes=[1, 2')
    typo = tmp_path / 'typo.yaml'
    typo.write_text('ppo:\n  learning_rate: 0.001\n  clip_parm: 0.2\n')
    with pytest.raises(ConfigError, match=r"typo\.yaml: key 'ppo\.clip_parm': unknown key"):
        load_config(typo)
    broken = tmp_path / 'broken.yaml'
    broken.write_text('ppo: [unclosed\n')
    with pytest.raises(ConfigError, match='not valid YAML'):
        load_config(broken)
    section = tmp_path / 'section.yaml'
    section.write_text('ppo: 3\n')
    with pytest.raises(ConfigError, match="key 'ppo': expected a mapping"):
        load_config(section)
    with pytest.raises(ConfigError, match='no such config file.*lpn_trot_arm_wave'):
        load_config(tmp_path / 'missing.yaml')


def test_a_partial_file_keeps_the_defaults(tmp_path):
    partial = tmp_path / 'partial.yaml'
    partial.write_text('env: {clip: hop}\nrun: {iterations: 5}\n')
    config = load_config(partial)
    assert config.env.clip == 'hop' and config.run.iterations == 5
    assert config.ppo == TrainConfig().ppo and config.policy == TrainConfig().policy


def test_a_null_rank_passes_its_range():
    assert load_config('lpn_trot_arm_wave', ['policy.rank=null']).policy.rank is None


def test_a_config_starts_from_the_config_its_base_key_names(tmp_path):
    """A second stage: a shipped config plus what changes, merged one leaf at a time."""
    (tmp_path / 'stage2.yaml').write_text(
        'base: lpn_trot\n'
        'env:\n'
        '  reward_terms: {root_position: {weight: 0.2, scale: 200.0}}\n'
        '  domain_randomization: {mass: {enabled: true, base_scale: [0.8, 2.0]}}\n'
        'run: {iterations: 7}\n')
    first, second = load_config('lpn_trot'), load_config(tmp_path / 'stage2.yaml')
    assert second.run.iterations == 7 and first.run.iterations != 7
    assert second.env.reward_terms['root_position'] == {'weight': 0.2, 'scale': 200.0}
    assert second.env.reward_terms['pose'] == first.env.reward_terms['pose']
    assert second.env.domain_randomization.mass.base_scale == (0.8, 2.0)
    assert second.env.domain_randomization.mass.link_scale == \
        first.env.domain_randomization.mass.link_scale
    assert second.penalty == first.penalty and second.env.clip == first.env.clip
    # The stage every shipped second stage shares, named from a user's own folder.
    (tmp_path / 'mine.yaml').write_text('base: [lpn_arm_circle, stages/randomized]\n')
    mine = load_config(tmp_path / 'mine.yaml')
    assert mine.env.clip == 'arm_circle' and mine.env.domain_randomization.mass.enabled
    (tmp_path / 'loop.yaml').write_text('base: loop\n')
    with pytest.raises(ConfigError, match="'base': loop leads back to itself"):
        load_config(tmp_path / 'loop.yaml')
    (tmp_path / 'missing.yaml').write_text('base: no_such_config\n')
    with pytest.raises(ConfigError, match='no_such_config: no such config file'):
        load_config(tmp_path / 'missing.yaml')
