"""
The sim launch's ``robot`` argument: which model, and the node parameters that follow from it.

A fixture model is the packaged one with its leg joints renamed, so the policy's joint names
reach it only through the configuration's ``joint_map``.
"""

from lpn_controller.joint_map import JointMap, parse_joint_remap
from lpn_controller.policy_format import load_policy
import pytest
from quadruped_arm_bringup.sim_robot import (resolve_robot_config, sim_robot_parameters,
                                             SimRobotError)
from sim_bridge.config import DEFAULT_CONFIG_PATH, load_config, MODEL_DIR, shipped_robot_names
import yaml

LEG_JOINT = ('front_left_', 'front_right_', 'rear_left_', 'rear_right_')


@pytest.fixture(scope='module')
def policy_joints(package_dir):
    return load_policy(package_dir / 'policies' / 'lpn_trot_arm_wave').metadata.joint_names


def renamed_robot(tmp_path, joint_map=None):
    """Write the packaged model with leg joints prefixed `x_`; return its config path."""
    xml = (MODEL_DIR / 'quadruped_arm.xml').read_text()
    for prefix in LEG_JOINT:
        xml = xml.replace(f'joint name="{prefix}', f'joint name="x_{prefix}').replace(
            f'joint="{prefix}', f'joint="x_{prefix}')
    (tmp_path / 'renamed.xml').write_text(xml)
    config = yaml.safe_load(DEFAULT_CONFIG_PATH.read_text())
    legs = [name for name in config['joints'] if name.startswith(LEG_JOINT)]
    config['model'] = 'renamed.xml'
    config['joints'] = [f'x_{name}' if name in legs else name for name in config['joints']]
    config['joint_map'] = ({name: f'x_{name}' for name in legs} if joint_map is None
                           else joint_map)
    path = tmp_path / 'renamed.yaml'
    path.write_text(yaml.safe_dump(config))
    return path


def test_the_packaged_robot_needs_no_parameters(policy_joints):
    assert resolve_robot_config('') is None
    assert sim_robot_parameters('', policy_joints) == ({}, {})


def test_a_shipped_profile_is_named_by_its_stem():
    assert 'menagerie_spot_arm' in shipped_robot_names()
    assert resolve_robot_config('menagerie_spot_arm') == MODEL_DIR / 'menagerie_spot_arm.yaml'


def test_an_unknown_name_lists_the_shipped_profiles():
    with pytest.raises(SimRobotError, match="'spot_mini' is not a shipped.*menagerie_spot_arm"):
        resolve_robot_config('spot_mini')


def test_a_missing_file_is_named(tmp_path):
    with pytest.raises(SimRobotError, match='no robot configuration at .*absent.yaml'):
        resolve_robot_config(str(tmp_path / 'absent.yaml'))


def test_a_renamed_model_gets_the_bridge_config_and_the_controller_remap(tmp_path,
                                                                         policy_joints):
    path = renamed_robot(tmp_path)
    bridge, controller = sim_robot_parameters(str(path), policy_joints)
    assert bridge == {'robot_config': str(path)}
    # The controller's own parsing of the parameter reaches every joint the bridge publishes.
    remap = parse_joint_remap(controller['joint_remap'])
    JointMap(policy_joints, remap).indices_in(load_config(path).joint_names)
    assert remap['front_left_knee'] == 'x_front_left_knee'
    assert 'arm_sh0' not in remap


def test_a_model_the_policy_cannot_drive_is_refused_with_the_joints(tmp_path, policy_joints):
    path = renamed_robot(tmp_path, joint_map={})
    with pytest.raises(SimRobotError, match='cannot drive this model.*front_left_hip_x'):
        sim_robot_parameters(str(path), policy_joints)


def test_a_menagerie_profile_without_menagerie_names_the_variable(monkeypatch, policy_joints):
    monkeypatch.delenv('MENAGERIE_ROOT', raising=False)
    with pytest.raises(SimRobotError, match='MENAGERIE_ROOT'):
        sim_robot_parameters('menagerie_spot_arm', policy_joints)
