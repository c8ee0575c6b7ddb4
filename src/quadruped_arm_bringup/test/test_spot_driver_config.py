"""The driver's config-file fragment: the policy's trained gains in the driver's order."""

from lpn_controller.policy_format import load_policy
import numpy as np
import pytest
from quadruped_arm_bringup.spot_driver_config import (
    DRIVER_DEFAULT_KQ_P, DRIVER_DEFAULT_KQD_P, driver_gains, DriverConfigError, main,
    read_driver_gains, SPOT_ARM_JOINTS)
import yaml


@pytest.fixture(scope='module')
def policy_dir(package_dir):
    return package_dir / 'policies' / 'lpn_trot_arm_wave'


def test_driver_defaults_are_19_long_gripper_last():
    assert len(SPOT_ARM_JOINTS) == len(DRIVER_DEFAULT_KQ_P) == len(DRIVER_DEFAULT_KQD_P) == 19
    assert SPOT_ARM_JOINTS[-1] == 'arm_f1x'
    assert DRIVER_DEFAULT_KQ_P[:3] == (624.0, 936.0, 286.0)
    assert DRIVER_DEFAULT_KQD_P[12:18] == (10.2, 15.3, 10.2, 2.04, 2.04, 2.04)


def test_command_writes_the_policy_gains_and_prints_the_defaults(policy_dir, tmp_path, capsys):
    assert main(['--policy', str(policy_dir), '--output', str(tmp_path)]) == 0
    document = yaml.safe_load((tmp_path / 'spot_driver_gains.yaml').read_text())
    parameters = document['/**']['ros__parameters']
    metadata = load_policy(policy_dir).metadata
    for name, kp, kd in zip(SPOT_ARM_JOINTS[:18], parameters['k_q_p'], parameters['k_qd_p']):
        index = metadata.joint_names.index(name)
        assert (kp, kd) == (metadata.kp[index], metadata.kd[index])
    assert (parameters['k_q_p'][-1], parameters['k_qd_p'][-1]) == (16.0, 0.32)
    printed = capsys.readouterr().out
    assert 'front_left_knee' in printed and '286.00' in printed   # the default beside it
    assert 'NOT the policy that was evaluated' in printed
    assert 'No controllers YAML needed' in printed
    kq_p, kqd_p = read_driver_gains(tmp_path)
    np.testing.assert_array_equal(kq_p, parameters['k_q_p'])
    np.testing.assert_array_equal(kqd_p, parameters['k_qd_p'])


def test_merge_keeps_the_users_settings_and_gripper_gains_apply(policy_dir, tmp_path):
    base = tmp_path / 'spot_ros.yaml'
    base.write_text(yaml.safe_dump({'/**': {'ros__parameters': {'hostname': '10.0.0.3'}}}))
    out = tmp_path / 'out'
    assert main(['--policy', str(policy_dir), '--output', str(out), '--merge-into', str(base),
                 '--gripper-gains', '20,0.5']) == 0
    parameters = yaml.safe_load((out / 'spot_driver_gains.yaml').read_text())['/**'][
        'ros__parameters']
    assert parameters['hostname'] == '10.0.0.3'
    assert (parameters['k_q_p'][-1], parameters['k_qd_p'][-1]) == (20.0, 0.5)


def test_a_list_of_another_length_reads_as_the_driver_defaults(tmp_path):
    path = tmp_path / 'config.yaml'
    path.write_text(yaml.safe_dump({'/**': {'ros__parameters': {'k_q_p': [1.0] * 18}}}))
    kq_p, kqd_p = read_driver_gains(path)
    np.testing.assert_array_equal(kq_p, DRIVER_DEFAULT_KQ_P)
    np.testing.assert_array_equal(kqd_p, DRIVER_DEFAULT_KQD_P)
    path.write_text(yaml.safe_dump({'spot': {'ros__parameters': {}}}))
    with pytest.raises(DriverConfigError, match=r"no '/\*\*: ros__parameters:'"):
        read_driver_gains(path)


def test_a_policy_that_does_not_cover_spot_is_refused(package_dir, tmp_path, capsys):
    from lpn_controller.example_policy import make_example_policy
    metadata, _ = make_example_policy('lpn', ('front_left_hip_x', 'arm_sh0'), seed=0)
    with pytest.raises(DriverConfigError, match='drives no front_left_hip_y'):
        driver_gains(metadata, {})
    assert main(['--policy', str(tmp_path / 'absent'), '--output', str(tmp_path)]) == 2
    assert 'spot_driver_config:' in capsys.readouterr().err


def test_launch_notice_warns_without_a_file_and_refuses_wrong_gains(policy_dir, tmp_path):
    from quadruped_arm_bringup.spot_driver_config import gains_notice
    metadata = load_policy(policy_dir).metadata
    notice = gains_notice(metadata, {}, '')
    assert 'NOT the policy that was evaluated' in notice and 'knee kd 2.04' in notice
    assert main(['--policy', str(policy_dir), '--output', str(tmp_path)]) == 0
    assert "holds the policy's trained gains" in gains_notice(metadata, {}, str(tmp_path))
    defaults = tmp_path / 'defaults.yaml'
    defaults.write_text(yaml.safe_dump({'/**': {'ros__parameters': {'hostname': 'x'}}}))
    with pytest.raises(DriverConfigError, match='other than the policy.*front_left_hip_x'):
        gains_notice(metadata, {}, str(defaults))
