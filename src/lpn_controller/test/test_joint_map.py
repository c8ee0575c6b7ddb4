"""Joint mapping between policy order and robot names."""

from lpn_controller.joint_map import JointMap, JointMapError, parse_joint_remap
import numpy as np
import pytest

POLICY = ('front_left_hip_x', 'front_left_knee', 'arm_sh0')


def test_parse_remap():
    assert parse_joint_remap(['arm_sh0:spot_arm_sh0', ' ', 'front_left_knee : fl_kn']) == {
        'arm_sh0': 'spot_arm_sh0', 'front_left_knee': 'fl_kn'}
    with pytest.raises(JointMapError, match='policy_name:robot_name'):
        parse_joint_remap(['arm_sh0'])
    with pytest.raises(JointMapError, match='twice'):
        parse_joint_remap(['a:b', 'a:c'])
    # The evaluate command line's POLICY=ROBOT spelling reads the same.
    assert parse_joint_remap(['arm_sh0=spot_arm_sh0', 'front_left_knee = fl_kn']) == {
        'arm_sh0': 'spot_arm_sh0', 'front_left_knee': 'fl_kn'}
    with pytest.raises(JointMapError, match='policy_name:robot_name'):
        parse_joint_remap(['arm_sh0='])


def test_message_order_and_extra_joints():
    joint_map = JointMap(POLICY, {'arm_sh0': 'spot_arm_sh0'})
    assert joint_map.robot_joint_names == ('front_left_hip_x', 'front_left_knee', 'spot_arm_sh0')
    names = ['gripper', 'spot_arm_sh0', 'front_left_knee', 'front_left_hip_x']
    values = joint_map.to_policy_order(names, [9.0, 3.0, 2.0, 1.0])
    np.testing.assert_array_equal(values, [1.0, 2.0, 3.0])
    np.testing.assert_array_equal(joint_map.indices_in(names), [3, 2, 1])


def test_missing_joint_is_named():
    joint_map = JointMap(POLICY)
    with pytest.raises(JointMapError, match='arm_sh0') as caught:
        joint_map.to_policy_order(['front_left_hip_x', 'front_left_knee'], [0.0, 0.0])
    assert 'joint_remap' in str(caught.value)
    with pytest.raises(JointMapError, match='3 joint names but 2 values'):
        joint_map.to_policy_order(list(POLICY), [0.0, 0.0])


def test_remap_errors_at_start_up():
    with pytest.raises(JointMapError, match='does not have: wrist'):
        JointMap(POLICY, {'wrist': 'w'})
    with pytest.raises(JointMapError, match='front_left_knee'):
        JointMap(POLICY, {'arm_sh0': 'front_left_knee'})


def test_output_indices_for_a_fixed_order_controller():
    joint_map = JointMap(POLICY)
    indices = joint_map.output_indices(['arm_sh0', 'front_left_hip_x'])
    np.testing.assert_array_equal(np.array([10.0, 20.0, 30.0])[indices], [30.0, 10.0])
    with pytest.raises(JointMapError, match='unknown joint'):
        joint_map.output_indices(['arm_sh0', 'tail'])
    with pytest.raises(JointMapError, match='twice'):
        joint_map.output_indices(['arm_sh0', 'arm_sh0'])
