"""The packaged robot model: joints, sensors, sites and physical plausibility."""

import mujoco
import numpy as np

from sim_bridge.config import DEFAULT_CONFIG_PATH, MODEL_DIR

EXPECTED_JOINTS = [
    f'{leg}_{joint}'
    for leg in ('front_left', 'front_right', 'rear_left', 'rear_right')
    for joint in ('hip_x', 'hip_y', 'knee')
] + ['arm_sh0', 'arm_sh1', 'arm_el0', 'arm_el1', 'arm_wr0', 'arm_wr1']


def load():
    return mujoco.MjModel.from_xml_path(str(MODEL_DIR / 'quadruped_arm.xml'))


def test_model_has_exactly_the_18_named_actuated_joints(config):
    model = load()
    actuated = [model.joint(int(model.actuator_trnid[a, 0])).name for a in range(model.nu)]
    assert actuated == EXPECTED_JOINTS
    hinge_joints = [model.joint(j).name for j in range(model.njnt)
                    if int(model.jnt_type[j]) == int(mujoco.mjtJoint.mjJNT_HINGE)]
    assert hinge_joints == EXPECTED_JOINTS
    assert list(config.joint_names) == EXPECTED_JOINTS
    assert DEFAULT_CONFIG_PATH.is_file()


def test_model_is_spot_sized():
    model = load()
    data = mujoco.MjData(model)
    mujoco.mj_resetDataKeyframe(model, data, model.key('stand').id)
    mujoco.mj_forward(model, data)
    body = model.body('body').id
    assert 38.0 < model.body_subtreemass[body] < 42.0
    arm_mass = model.body_subtreemass[model.body('arm_link_sh0').id]
    assert 7.5 < arm_mass < 8.5
    assert 0.45 < data.qpos[2] < 0.55
    thigh = np.linalg.norm(data.body('front_left_lower_leg').xpos
                           - data.body('front_left_upper_leg').xpos)
    shank = np.linalg.norm(data.site('front_left_foot').xpos
                           - data.body('front_left_lower_leg').xpos)
    assert 0.32 <= thigh <= 0.35 and 0.32 <= shank <= 0.35
    feet = np.array([data.site(f'{leg}_foot').xpos for leg in
                     ('front_left', 'front_right', 'rear_left', 'rear_right')])
    # Standing keyframe: every foot on the ground, under its hip.
    np.testing.assert_allclose(feet[:, 2], 0.025, atol=0.005)
    assert np.all(np.abs(model.body_inertia[1:]) > 0)


def test_model_has_imu_sensors_and_named_sites():
    model = load()
    for sensor in ('imu_orientation', 'imu_gyro', 'imu_accelerometer'):
        assert model.sensor(sensor).id >= 0
    for site in ('imu', 'front_left_foot', 'front_right_foot', 'rear_left_foot',
                 'rear_right_foot', 'gripper'):
        assert model.site(site).id >= 0


def test_every_joint_is_limited_damped_and_torque_limited():
    model = load()
    for a in range(model.nu):
        joint = int(model.actuator_trnid[a, 0])
        assert model.jnt_limited[joint]
        assert model.dof_armature[model.jnt_dofadr[joint]] > 0
        assert model.dof_damping[model.jnt_dofadr[joint]] > 0
        assert model.actuator_forcelimited[a]
        assert 0 < model.actuator_forcerange[a, 1] <= 200
