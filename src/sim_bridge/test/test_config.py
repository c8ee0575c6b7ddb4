"""Robot configuration: loading, gain resolution and the errors a user sees."""

import pytest

from sim_bridge.config import config_from_dict, ConfigError, DEFAULT_CONFIG_PATH, load_config
import yaml


def packaged():
    return yaml.safe_load(DEFAULT_CONFIG_PATH.read_text())


def test_packaged_config_resolves_one_gain_per_joint(config):
    assert len(config.kp) == len(config.kd) == len(config.joint_names) == 18
    assert config.substeps == 10
    assert config.kp[config.joint_names.index('arm_wr1')] == 30.0


def test_gains_accept_scalar_list_and_patterns():
    raw = packaged()
    raw['kp'] = 10
    raw['kd'] = [1.0] * 18
    config = config_from_dict(raw)
    assert set(config.kp) == {10.0} and set(config.kd) == {1.0}


@pytest.mark.parametrize('change, message', [
    ({'joints': ['front_left_hip_x', 'front_left_hip_x']}, 'more than once'),
    ({'kp': {'*_hip_x': 1}}, "no entry matches joint 'front_left_hip_y'"),
    ({'kp': {'*': 1, 'arm_*': 2}}, 'matches several entries'),
    ({'kp': {'*': 1, 'tail_*': 2}}, "entries ['tail_*'] match no joint"),
    ({'kp': [1.0] * 3}, 'lists 3 values for 18 joints'),
    ({'kd': {'*': 'stiff'}}, 'is not a number'),
    ({'kd': {'*': -1}}, 'must be finite and >= 0'),
    ({'control_rate_hz': 45}, 'whole multiple'),
    ({'model': 'missing.xml'}, 'no such file'),
    ({'gains': 1}, "unknown field(s) ['gains']"),
])
def test_bad_config_fields_are_named(change, message):
    raw = {**packaged(), **change}
    with pytest.raises(ConfigError, match=None) as error:
        config_from_dict(raw)
    assert message in str(error.value)


def test_missing_field_and_malformed_yaml(tmp_path):
    raw = packaged()
    del raw['kd']
    with pytest.raises(ConfigError, match="missing required field 'kd'"):
        config_from_dict(raw)
    bad = tmp_path / 'robot.yaml'
    bad.write_text('joints: [a, b\nkp: 1\n')
    with pytest.raises(ConfigError, match='not valid YAML') as error:
        load_config(bad)
    assert str(bad) in str(error.value)
    with pytest.raises(ConfigError, match='cannot read'):
        load_config(tmp_path / 'absent.yaml')
    (tmp_path / 'list.yaml').write_text('- 1\n- 2\n')
    with pytest.raises(ConfigError, match='expected a mapping'):
        load_config(tmp_path / 'list.yaml')


def test_relative_model_path_is_taken_from_the_config_folder(tmp_path):
    raw = packaged()
    raw['model'] = str(DEFAULT_CONFIG_PATH.parent / raw['model'])
    path = tmp_path / 'robot.yaml'
    path.write_text(yaml.safe_dump(raw))
    assert load_config(path).model_path.is_file()
    raw['model'] = 'quadruped_arm.xml'
    path.write_text(yaml.safe_dump(raw))
    with pytest.raises(ConfigError, match='no such file'):
        load_config(path)


def test_a_robot_config_is_named_by_path_or_by_its_shipped_stem(tmp_path):
    from sim_bridge.config import MODEL_DIR, robot_config_path, shipped_robot_names
    assert robot_config_path('') is None and robot_config_path(None) is None
    assert {'quadruped_arm', 'menagerie_spot_arm'} <= set(shipped_robot_names())
    assert robot_config_path('menagerie_spot_arm') == MODEL_DIR / 'menagerie_spot_arm.yaml'
    with pytest.raises(ConfigError, match="'spot_mini' is not a shipped.*menagerie_spot_arm"):
        robot_config_path('spot_mini')
    with pytest.raises(ConfigError, match='no robot configuration at .*absent.yaml'):
        robot_config_path(str(tmp_path / 'absent.yaml'))
