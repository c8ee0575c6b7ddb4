"""
Any MJCF through a robot config.

A fixture model with other joint names, no IMU sensors, a missing mesh file and no floor in its
robot file (as MuJoCo Menagerie ships its models).
"""

import dataclasses
import os
import warnings

import numpy as np
import pytest

from sim_bridge.config import config_from_dict, ConfigError, load_config, MODEL_DIR
from sim_bridge.mjcf import compile_model, MissingMeshWarning, NoGroundWarning
from sim_bridge.simulator import Simulator
import yaml

LEGS = ('lf', 'rf', 'lh', 'rh')
POSITIONS = {'lf': (0.2, 0.1), 'rf': (0.2, -0.1), 'lh': (-0.2, 0.1), 'rh': (-0.2, -0.1)}


def _leg(name):
    x, y = POSITIONS[name]
    return f"""
      <body name="{name}_thigh" pos="{x} {y} 0">
        <inertial pos="0 0 -0.1" mass="0.5" diaginertia="0.002 0.002 0.0005"/>
        <joint name="{name}_pitch" axis="0 1 0" range="-1.5 1.5"/>
        <geom type="capsule" fromto="0 0 0 0 0 -0.2" size="0.02" contype="0" conaffinity="0"/>
        <body name="{name}_shin" pos="0 0 -0.2">
          <inertial pos="0 0 -0.1" mass="0.3" diaginertia="0.001 0.001 0.0002"/>
          <joint name="{name}_knee" axis="0 1 0" range="-2.5 0"/>
          <geom name="{name}_foot" type="sphere" pos="0 0 -0.2" size="0.025"/>
        </body>
      </body>"""


ROBOT_XML = f"""<mujoco model="fixture_dog">
  <compiler meshdir="assets"/>
  <asset><mesh name="shell" file="shell.obj"/></asset>
  <worldbody>
    <body name="torso" pos="0 0 0.45">
      <freejoint name="root"/>
      <inertial pos="0 0 0" mass="8" diaginertia="0.1 0.2 0.2"/>
      <geom name="shell_visual" type="mesh" mesh="shell" contype="0" conaffinity="0"/>
      <geom name="chassis" type="box" size="0.25 0.12 0.05"/>
      {''.join(_leg(leg) for leg in LEGS)}
    </body>
  </worldbody>
  <actuator>
    {''.join(f'<position joint="{leg}_{j}" kp="10"/>' for leg in LEGS
             for j in ('pitch', 'knee'))}
  </actuator>
  <keyframe>
    <key name="home" qpos="0 0 0.37 1 0 0 0 {' '.join(['0.6 -1.2'] * 4)}"/>
  </keyframe>
</mujoco>
"""
SCENE_XML = """<mujoco model="fixture scene">
  <include file="robot.xml"/>
  <worldbody><geom name="floor" type="plane" size="0 0 0.05"/></worldbody>
</mujoco>
"""
JOINTS = [f'{leg}_{j}' for leg in LEGS for j in ('pitch', 'knee')]


@pytest.fixture
def fixture_dir(tmp_path):
    (tmp_path / 'robot.xml').write_text(ROBOT_XML)
    (tmp_path / 'scene.xml').write_text(SCENE_XML)
    return tmp_path


def fixture_config(fixture_dir, **changes):
    raw = {'model': 'scene.xml', 'joints': JOINTS, 'kp': {'*_pitch': 60.0, '*_knee': 60.0},
           'kd': 1.5, 'keyframe': 'home', 'base_body': 'torso', 'imu_site': '',
           'imu_sensors': None, 'foot_sites': [f'{leg}_toe' for leg in LEGS],
           'sites': {f'{leg}_toe': {'body': f'{leg}_shin', 'pos': [0, 0, -0.225]}
                     for leg in LEGS},
           **changes}
    path = fixture_dir / 'fixture_dog.yaml'
    path.write_text(yaml.safe_dump(raw))
    return path


def test_missing_mesh_geoms_are_dropped_with_one_warning_and_no_floor_warns(fixture_dir):
    with pytest.warns(MissingMeshWarning) as caught:
        model = compile_model(fixture_dir / 'scene.xml')
    missing = [w for w in caught if issubclass(w.category, MissingMeshWarning)]
    assert len(missing) == 1 and 'shell_visual' in str(missing[0].message)
    assert not any(issubclass(w.category, NoGroundWarning) for w in caught)
    assert 'shell_visual' not in [model.geom(g).name for g in range(model.ngeom)]
    # One recorder for both: nested pytest.warns swallow each other's warnings before pytest 8
    # (Ubuntu 24.04's pytest 7.4 runs colcon test).
    with pytest.warns(Warning) as caught:
        compile_model(fixture_dir / 'robot.xml')
    categories = [w.category for w in caught]
    assert MissingMeshWarning in categories
    assert any(w.category is NoGroundWarning and 'nothing to stand on' in str(w.message)
               for w in caught)


def test_a_model_without_imu_sensors_stands_on_its_foot_spheres(fixture_dir):
    with warnings.catch_warnings():
        warnings.simplefilter('ignore', MissingMeshWarning)
        config = load_config(fixture_config(fixture_dir))
        sim = Simulator(config, seed=0)
    assert config.imu_sensors is None and config.joint_names == tuple(JOINTS)
    for _ in range(100):   # 2 s
        sim.step()
    state = sim.read_state()
    assert state.base_position[2] > 0.25
    # Standing still: the frame's accelerometer reads +g along its up axis, the gyro nothing.
    np.testing.assert_allclose(state.imu_linear_acceleration, [0, 0, 9.81], atol=0.05)
    np.testing.assert_allclose(state.imu_angular_velocity, 0.0, atol=1e-3)
    np.testing.assert_allclose(state.imu_orientation, state.base_orientation, atol=1e-12)
    feet = sim.site_positions(config.foot_sites)
    assert np.all(feet[:, 2] < 0.05)


@pytest.mark.parametrize('change, message', [
    ({'imu_site': 'imu'}, "field 'imu_site': no site 'imu'"),
    ({'foot_sites': ['lf_toe', 'x']}, "field 'foot_sites': no site 'x'"),
    ({'gripper_site': 'hand'}, "field 'gripper_site': no site 'hand'"),
    ({'base_body': 'body'}, "field 'base_body'"),
    ({'keyframe': 'stand'}, "field 'keyframe': keyframe 'stand' is not in model"),
    ({'imu_sensors': {}},
     "field 'imu_sensors.orientation': the IMU needs a 'framequat' sensor named "
     "'imu_orientation'"),
    ({'joints': ['front_left_hip_x'] + JOINTS[1:]},
     "field 'joints': unknown joint 'front_left_hip_x'"),
    ({'sites': {'toe': {'body': 'paw'}}}, "no body 'paw'"),
])
def test_every_name_is_checked_at_load(fixture_dir, change, message):
    """Each error names the file, the field and the model's candidates."""
    path = fixture_config(fixture_dir, **change)
    with warnings.catch_warnings():
        warnings.simplefilter('ignore', MissingMeshWarning)
        with pytest.raises(ConfigError) as caught:
            load_config(path)
    text = str(caught.value)
    assert text.startswith(str(path)) and message in text
    candidates = {"field 'imu_site'": 'lf_toe', "field 'foot_sites'": 'lf_toe',
                  "field 'gripper_site'": 'lf_toe', "field 'base_body'": 'torso',
                  "field 'keyframe'": 'home', "field 'joints'": 'lf_pitch'}
    for field_name, candidate in candidates.items():
        if message.startswith(field_name):
            assert candidate in text
    if 'imu_sensors' in message:
        assert 'imu_sensors: null' in text


def test_wrong_joints_are_reported_before_pattern_gains():
    with pytest.raises(ConfigError, match="field 'joints': unknown joint 'fl_hx'") as caught:
        load_config(overrides={'joints': ['fl_hx', 'fl_hy']})
    assert 'front_left_hip_x' in str(caught.value)


def test_model_path_from_an_unset_environment_variable_says_so(monkeypatch, fixture_dir):
    monkeypatch.delenv('MENAGERIE_ROOT', raising=False)
    raw = yaml.safe_load(fixture_config(fixture_dir).read_text())
    raw['model'] = '${MENAGERIE_ROOT}/robot.xml'
    with pytest.raises(ConfigError, match='MENAGERIE_ROOT'):
        config_from_dict(raw, base_dir=fixture_dir)
    monkeypatch.setenv('MENAGERIE_ROOT', str(fixture_dir))
    raw['model'] = '${MENAGERIE_ROOT}/scene.xml'
    with pytest.warns(MissingMeshWarning):
        assert config_from_dict(raw, base_dir=fixture_dir).model_path == fixture_dir / 'scene.xml'


def test_frame_imu_agrees_with_the_packaged_imu_sensors(config):
    sensed = Simulator(config, seed=3)
    framed = Simulator(dataclasses.replace(config, imu_sensors=None), seed=3)
    rng = np.random.default_rng(0)
    for _ in range(25):
        targets = sensed.joint_targets + rng.uniform(-0.1, 0.1, len(config.joint_names))
        sensed.step(targets)
        framed.step(targets)
        a, b = sensed.read_state(), framed.read_state()
        np.testing.assert_array_equal(a.joint_positions, b.joint_positions)
        np.testing.assert_allclose(b.imu_orientation, a.imu_orientation, atol=1e-9)
        np.testing.assert_allclose(b.imu_angular_velocity, a.imu_angular_velocity, atol=1e-9)
        np.testing.assert_allclose(b.imu_linear_acceleration, a.imu_linear_acceleration,
                                   rtol=1e-6, atol=1e-6)


def test_menagerie_profile_needs_a_menagerie_checkout(monkeypatch):
    profile = MODEL_DIR / 'menagerie_spot_arm.yaml'
    monkeypatch.delenv('MENAGERIE_ROOT', raising=False)
    with pytest.raises(ConfigError, match='MENAGERIE_ROOT') as caught:
        load_config(profile)
    assert str(profile) in str(caught.value)


@pytest.mark.skipif(not os.environ.get('MENAGERIE_ROOT'), reason='no Menagerie checkout')
def test_menagerie_spot_stands_from_its_xml_alone():
    with warnings.catch_warnings():
        warnings.simplefilter('ignore', MissingMeshWarning)
        config = load_config(MODEL_DIR / 'menagerie_spot_arm.yaml')
        sim = Simulator(config, seed=0)
    for _ in range(100):
        sim.step()
    assert sim.read_state().base_position[2] > 0.35
