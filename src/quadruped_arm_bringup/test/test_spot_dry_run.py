"""The emulated Spot driver and the dry run of the robot launch against it (no ROS)."""

import os

from lpn_controller.bags import BagReader
import numpy as np
import pytest
from quadruped_arm_bringup.spot_driver_config import main as write_driver_config
from quadruped_arm_bringup.spot_dry_run import main as dry_run
from quadruped_arm_bringup.spot_emulator import SpotDriverEmulator

POLICY = 'lpn_trot_arm_wave'


def test_emulator_publishes_the_drivers_rates_names_and_holds_the_first_read_pose():
    driver = SpotDriverEmulator(namespace='spot')
    assert len(driver.joint_names) == 19 and driver.joint_names[-1] == 'spot/arm_f1x'
    assert driver.topic('low_level/joint_states') == '/spot/low_level/joint_states'
    outputs = [driver.step() for _ in range(600)]
    assert sum(output.joint_state is not None for output in outputs) == 200   # 333.3 Hz
    assert sum(output.imu is not None for output in outputs) == 200
    assert sum(output.odometry is not None for output in outputs) == 30       # 50 Hz
    positions = [output.joint_state[0] for output in outputs if output.joint_state][-1]
    # Nobody commanded: the robot keeps lying where activation found it.
    np.testing.assert_allclose(positions[:18], driver.activation_pose[:18], atol=0.15)
    assert outputs[-1].base_pose[0][2] < 0.25


def test_emulator_drops_wrong_lengths_with_the_forward_controllers_error():
    driver = SpotDriverEmulator()
    message = driver.command(np.zeros(18))
    assert message == 'command size (18) does not match number of interfaces (19)'
    for _ in range(10):
        driver.command(np.zeros(18))
        driver.step()
    assert driver.commands_dropped == 11
    assert len(driver.errors) == 1          # throttled to once a second, as the driver logs
    assert driver.command(driver.activation_pose) is None


def test_odometry_twist_is_in_the_odom_frame():
    driver = SpotDriverEmulator()
    yaw = np.pi / 2   # turn the lying robot to face +y and push it along its own x
    state = driver.sim.read_state()
    driver.sim.reset_to_pose(state.base_position, [np.cos(yaw / 2), 0, 0, np.sin(yaw / 2)],
                             state.joint_positions, root_linear_velocity=[0.0, 0.5, 0.0])
    odometry = next(output.odometry for output in iter(driver.step, None)
                    if output.odometry is not None)
    position, orientation, linear, angular = odometry
    assert linear[1] > 0.2 and abs(linear[0]) < 0.1     # world +y, not body +x


def test_mock_mode_has_nan_imu_and_no_odometry():
    driver = SpotDriverEmulator(mode='mock')
    outputs = [driver.step() for _ in range(60)]
    assert all(output.odometry is None for output in outputs)
    imu = next(output.imu for output in outputs if output.imu is not None)
    assert np.all(np.isnan(imu[0]))
    driver.command(driver.activation_pose + 0.1)
    states = [driver.step().joint_state for _ in range(3)]
    np.testing.assert_allclose(states[-1][0], driver.activation_pose + 0.1)


def test_dry_run_stands_up_trots_and_records_the_driver_topics(package_dir, tmp_path, capsys):
    policy = str(package_dir / 'policies' / POLICY)
    assert write_driver_config(['--policy', policy, '--output', str(tmp_path / 'gains')]) == 0
    capsys.readouterr()
    assert dry_run(['--policy', policy, '--driver-config', str(tmp_path / 'gains'),
                    '--seconds', '7', '--output', str(tmp_path / 'run')]) == 0
    printed = capsys.readouterr().out
    assert 'stayed up under the policy: yes' in printed
    assert '0 dropped by the driver' in printed
    with BagReader(tmp_path / 'run' / 'bag') as bag:
        joint_states = bag.topic('/low_level/joint_states')
        assert joint_states.msgtype == 'sensor_msgs/msg/JointState'
        commands = bag.topic('/forward_position_controller/commands')
        assert commands.msgtype == 'std_msgs/msg/Float64MultiArray'
        assert bag.topic('/odometry').msgtype == 'nav_msgs/msg/Odometry'
        assert bag.topic('/imu_sensor_broadcaster/imu').msgtype == 'sensor_msgs/msg/Imu'
        series = bag.read_series('/low_level/joint_states')
        assert len(series.names) == 19 and series.names[-1] == 'arm_f1x'
        assert bag.read_series('/forward_position_controller/commands').values.shape[1] == 19


def test_estop_in_the_dry_run_deactivates_the_hardware_and_the_robot_sits(tmp_path, capsys):
    assert dry_run(['--seconds', '8', '--estop-at', '6', '--output', str(tmp_path)]) == 0
    printed = capsys.readouterr().out
    assert '-> damping: e-stop (dry run)' in printed
    assert '-> hardware inactive: estop: e-stop (dry run) (deactivated: True)' in printed
    height = float(printed.split('base height at the end: ')[1].split(' m')[0])
    assert height < 0.2   # sat down and powered off


@pytest.mark.parametrize('signal, deactivated', [('SIGTERM', True), ('SIGKILL', False)])
def test_node_stop_in_the_dry_run(tmp_path, capsys, signal, deactivated):
    assert dry_run(['--seconds', '7', '--stop-at', '6', '--stop-signal', signal,
                    '--output', str(tmp_path)]) == 0
    printed = capsys.readouterr().out
    assert f'-> node stopped: {signal}' in printed
    assert ('hardware inactive: shutdown: SIGTERM (deactivated: True)' in printed) == deactivated
    assert 'after the node stopped: max tilt' in printed


def test_emulated_power_off_ignores_later_commands():
    driver = SpotDriverEmulator()
    assert not driver.set_hardware_state('OtherSystem', 'inactive')
    assert driver.set_hardware_state('SpotSystem', 'inactive') and not driver.active
    before = driver.targets.copy()
    assert driver.command(np.zeros(19)) is None
    for _ in range(30):
        driver.step()
    assert not np.allclose(driver.targets[:12], 0.0)
    assert np.allclose(driver.targets[12:], before[12:])   # the arm is not moved


def test_a_profile_written_for_another_driver_fails_loudly_in_the_dry_run(package_dir, tmp_path,
                                                                          capsys):
    import yaml
    profile = yaml.safe_load((package_dir / 'config' / 'robots' / 'spot_arm.yaml').read_text())
    old = dict(profile, forward_command_joints=profile['forward_command_joints'][:18])
    del old['held_joints']
    old['topics'] = dict(profile['topics'], joint_states='/joint_states')
    path = tmp_path / 'old.yaml'
    path.write_text(yaml.safe_dump(old))
    assert dry_run(['--robot-profile', str(path), '--seconds', '1', '--output',
                    str(tmp_path / 'a')]) == 0
    printed = capsys.readouterr().out
    assert 'NOT CONNECTED: the controller uses /joint_states where the driver has ' \
           '/low_level/joint_states' in printed
    old['topics']['joint_states'] = '/low_level/joint_states'
    path.write_text(yaml.safe_dump(old))
    assert dry_run(['--robot-profile', str(path), '--seconds', '2', '--output',
                    str(tmp_path / 'b')]) == 0
    printed = capsys.readouterr().out
    assert '100 commands sent, 100 dropped by the driver' in printed
    assert 'command size (18) does not match number of interfaces (19)' in printed


def test_mock_dry_run_never_engages_and_names_why(package_dir, tmp_path, capsys):
    assert dry_run(['--mock', '--seconds', '1', '--output', str(tmp_path)]) == 0
    printed = capsys.readouterr().out
    assert 'stayed up under the policy: no (final mode waiting_for_state' in printed
    assert 'the policy never engaged' in printed


def test_menagerie_dry_run(tmp_path, capsys):
    if not os.environ.get('MENAGERIE_ROOT'):
        pytest.skip('MENAGERIE_ROOT is not set: no Menagerie checkout to run on')
    assert dry_run(['--robot-config', 'menagerie_spot_arm', '--seconds', '6.5',
                    '--output', str(tmp_path)]) == 0
    assert 'bag:' in capsys.readouterr().out


def test_bad_inputs_are_named(tmp_path, capsys):
    assert dry_run(['--driver-config', str(tmp_path / 'absent'), '--output',
                    str(tmp_path / 'x')]) == 2
    assert 'cannot read driver config' in capsys.readouterr().err


def test_the_odom_frame_twist_makes_the_run_independent_of_the_start_heading(tmp_path, capsys):
    speeds = []
    for yaw in ('0', '90'):
        assert dry_run(['--seconds', '8', '--start-yaw', yaw, '--output',
                        str(tmp_path / yaw)]) == 0
        printed = capsys.readouterr().out
        speeds.append(float(printed.split('forward ')[1].split(' m/s')[0]))
    assert speeds[0] > 0.2
    assert abs(speeds[0] - speeds[1]) < 0.02
