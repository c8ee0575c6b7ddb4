"""Motion clips: the shipped files, sampling, derived velocities and the errors a user sees."""

from lpn_controller.rotations import quat_multiply
import mujoco
import numpy as np
import pytest
from smooth_policy_trainer.motion.clip_files import (ClipError, list_shipped_clips, save_clip,
                                                     shipped_clip_path)
from smooth_policy_trainer.motion.clips import load_clip, load_shipped_clip, MotionClip
from smooth_policy_trainer.motion.generator import (clip_checks, CLIP_NAMES, failed_checks,
                                                    generate_clip, GRAVITY, motion_targets)
from smooth_policy_trainer.motion.kinematics import RobotKinematics
import yaml


@pytest.fixture(scope='module')
def kinematics():
    return RobotKinematics()


@pytest.fixture(scope='module')
def shipped(kinematics):
    return {name: load_shipped_clip(name, kinematics.config, kinematics.model)
            for name in list_shipped_clips()}


def raw_clip(name='trot'):
    """Header mapping and arrays of a shipped clip, to corrupt one field at a time."""
    stem = shipped_clip_path(name)
    header = yaml.safe_load(stem.with_suffix('.yaml').read_text())
    with np.load(stem.with_suffix('.npz')) as archive:
        arrays = {key: archive[key].copy() for key in archive.files}
    return header, arrays


def write_raw(directory, header, arrays, name='clip'):
    (directory / f'{name}.yaml').write_text(yaml.safe_dump(header, sort_keys=False))
    np.savez(directory / f'{name}.npz', **arrays)
    return directory / name


# -- the shipped clips ------------------------------------------------------------------------

def test_every_motion_is_shipped_small_looping_at_the_control_rate(shipped, kinematics):
    assert set(shipped) == set(CLIP_NAMES)
    for name, clip in shipped.items():
        assert clip.loop and clip.frame_rate_hz == kinematics.config.control_rate_hz
        assert clip.joint_names == kinematics.config.joint_names
        assert clip.generator['module'] == 'smooth_policy_trainer.clip_generator'
        stem = shipped_clip_path(name)
        size = sum(stem.with_suffix(s).stat().st_size for s in ('.yaml', '.npz'))
        assert size < 30_000, f'{name} is {size} bytes'


@pytest.mark.parametrize('name', CLIP_NAMES)
def test_shipped_clips_pass_the_kinematic_checks(name, shipped, kinematics):
    # Feet on the floor in stance, none below it, IK residual, no self-penetration, limits,
    # bounded joint speeds and accelerations (the loop closes smoothly).
    figures = clip_checks(shipped[name], motion_targets(name, kinematics), kinematics)
    assert failed_checks(figures) == []
    assert figures['ik_residual_max_m'] < 1e-4


def test_trot_moves_forward_at_half_a_metre_per_second_on_diagonal_pairs(shipped, kinematics):
    clip = shipped['trot']
    speed = clip.root_displacement_per_cycle[0] / clip.phase_period_s
    assert abs(speed - 0.5) < 0.05
    np.testing.assert_allclose(clip.root_linear_velocity, [[speed, 0, 0]] * clip.frame_count,
                               atol=1e-6)
    # Feet in the configured order: front-left, front-right, rear-left, rear-right.
    stance = motion_targets('trot', kinematics).stance
    assert np.all(stance[:, 0] == stance[:, 3]) and np.all(stance[:, 1] == stance[:, 2])
    assert np.all(stance[:, 0] | stance[:, 1]) and not np.all(stance[:, 0])
    assert 0.5 <= stance.mean() <= 0.65
    arm = kinematics.joints_moving_site(kinematics.config.gripper_site)
    assert np.all(clip.joint_positions[:, arm] == kinematics.keyframe_joint_positions()[arm])


def test_arm_moves_in_the_arm_clips_only(shipped, kinematics):
    arm = kinematics.joints_moving_site(kinematics.config.gripper_site)
    for name, moving in (('trot_arm_wave', True), ('arm_circle', True), ('hop', False)):
        spread = np.ptp(shipped[name].joint_positions[:, arm], axis=0).max()
        assert (spread > 0.3) == moving, name
    gripper = shipped['arm_circle'].end_effector_positions[:, -1]
    centre = gripper.mean(axis=0)
    radius = np.linalg.norm(gripper - centre, axis=1)
    np.testing.assert_allclose(radius, 0.12, atol=2e-3)
    assert np.ptp(gripper[:, 0]) < 1e-3  # a vertical plane across the front of the body
    assert centre[0] > 0.6 and centre[2] > 0.1


def test_hop_has_a_ballistic_flight_with_all_feet_off_the_floor(shipped, kinematics):
    clip = shipped['hop']
    figures = clip_checks(clip, motion_targets('hop', kinematics), kinematics)
    assert figures['flight_frames'] >= 5
    feet_z = clip.end_effector_positions[:, :4, 2] + clip.root_position[:, 2:3]
    airborne = np.all(feet_z > 0.03, axis=1)
    height = clip.root_position[:, 2]
    acceleration = (np.roll(height, -1) - 2 * height + np.roll(height, 1)) / clip.dt ** 2
    inside = airborne & np.roll(airborne, 1) & np.roll(airborne, -1)
    np.testing.assert_allclose(acceleration[inside], -GRAVITY, atol=1e-2)
    assert 0.39 < height.min() < 0.41 and 0.05 < height.max() - 0.5 < 0.08
    assert np.ptp(clip.root_position[:, :2]) == 0.0


def test_end_effectors_are_feet_then_gripper_in_the_body_frame(shipped, kinematics):
    clip = shipped['trot']
    config = kinematics.config
    assert clip.end_effector_names == tuple(config.foot_sites) + (config.gripper_site,)
    stance = motion_targets('trot', kinematics).stance
    feet = clip.end_effector_positions[:, :4]
    np.testing.assert_allclose(feet[:, :, 2][stance], 0.025 - 0.475, atol=1e-5)


# -- sampling --------------------------------------------------------------------------------

def test_sample_hits_frames_interpolates_and_advances_cycles(shipped):
    clip = shipped['trot']
    frames = np.arange(clip.frame_count)
    at_frames = clip.sample(frames / clip.frame_count)
    np.testing.assert_allclose(at_frames.joint_positions, clip.joint_positions, atol=1e-12)
    np.testing.assert_allclose(at_frames.joint_velocities, clip.joint_velocities, atol=1e-9)
    np.testing.assert_allclose(at_frames.end_effector_positions, clip.end_effector_positions,
                               atol=1e-12)
    halfway = clip.sample((frames + 0.5) / clip.frame_count)
    following = np.roll(clip.joint_positions, -1, axis=0)
    np.testing.assert_allclose(halfway.joint_positions, (clip.joint_positions + following) / 2)
    later = clip.sample(np.array([0.3, 2.3, -0.7]))
    np.testing.assert_allclose(later.joint_positions[1], later.joint_positions[0])
    step = clip.root_displacement_per_cycle
    np.testing.assert_allclose(later.root_position[1] - later.root_position[0], 2 * step)
    np.testing.assert_allclose(later.root_position[2] - later.root_position[0], -step)
    # Across the wrap the root keeps moving forward instead of jumping back.
    np.testing.assert_allclose(clip.sample(1.0 - 1e-9).root_position,
                               clip.sample(0.0).root_position + step, atol=1e-6)


def test_sample_is_vectorised_over_any_batch_shape(shipped):
    clip = shipped['trot_arm_wave']
    phases = np.random.default_rng(0).random((8, 3))
    batch = clip.sample(phases)
    assert batch.joint_positions.shape == (8, 3, 18)
    assert batch.end_effector_positions.shape == (8, 3, 5, 3)
    np.testing.assert_allclose(np.linalg.norm(batch.root_orientation, axis=-1), 1.0)
    one = clip.sample(phases[4, 2])
    assert one.root_position.shape == (3,)
    np.testing.assert_allclose(one.joint_velocities, batch.joint_velocities[4, 2])


def synthetic_clip(kinematics, loop=True):
    """Build a clip spinning about world z while pitched, with sinusoidal joints."""
    rate, frames = 50.0, 100
    t = np.arange(frames) / rate
    yaw_rate = 2 * np.pi / (frames / rate)
    yaw = np.stack([np.cos(yaw_rate * t / 2), 0 * t, 0 * t, np.sin(yaw_rate * t / 2)], axis=1)
    pitch = np.array([np.cos(0.15), 0.0, np.sin(0.15), 0.0])
    joints = np.tile(kinematics.keyframe_joint_positions(), (frames, 1))
    joints[:, 1] += 0.2 * np.sin(yaw_rate * t)
    position = np.stack([0.1 * t, 0 * t, 0.5 + 0 * t], axis=1)
    return MotionClip('spin', rate, loop, kinematics.config.joint_names, position,
                      quat_multiply(yaw, pitch), joints,
                      root_displacement_per_cycle=[0.2, 0, 0] if loop else None), yaw_rate


def test_velocities_follow_the_simulator_conventions(kinematics):
    clip, yaw_rate = synthetic_clip(kinematics)
    t = clip.frame_times()
    expected_joint = 0.2 * yaw_rate * np.cos(yaw_rate * t)
    np.testing.assert_allclose(clip.joint_velocities[:, 1], expected_joint, rtol=2e-3,
                               atol=1e-4)
    np.testing.assert_allclose(clip.root_linear_velocity, [[0.1, 0, 0]] * 100, atol=1e-9)
    # World z seen from a body pitched by 0.3 rad: the angular velocity is in the body frame.
    body = yaw_rate * np.array([-np.sin(0.3), 0.0, np.cos(0.3)])
    np.testing.assert_allclose(clip.root_angular_velocity, [body] * 100, atol=1e-9)
    # ... and matches MuJoCo's free-joint velocity (what RobotState reports).
    model = kinematics.model
    qvel = np.zeros(model.nv)
    before, after = np.array(model.qpos0), np.array(model.qpos0)
    before[:7] = np.concatenate([clip.root_position[9], clip.root_orientation[9]])
    after[:7] = np.concatenate([clip.root_position[11], clip.root_orientation[11]])
    mujoco.mj_differentiatePos(model, qvel, 2 * clip.dt, before, after)
    np.testing.assert_allclose(clip.root_angular_velocity[10], qvel[3:6], atol=1e-6)
    np.testing.assert_allclose(clip.root_linear_velocity[10], qvel[:3], atol=1e-9)


def test_non_looping_clip_clamps_phase_and_differentiates_one_sided(kinematics):
    clip, yaw_rate = synthetic_clip(kinematics, loop=False)
    assert clip.duration_s == pytest.approx(99 / 50)
    np.testing.assert_allclose(clip.sample(1.5).joint_positions, clip.joint_positions[-1])
    np.testing.assert_allclose(clip.sample(-1.0).joint_positions, clip.joint_positions[0])
    assert np.all(np.isfinite(clip.root_angular_velocity))
    with pytest.raises(ClipError, match='must be zero for a non-looping clip'):
        MotionClip('x', 50.0, False, clip.joint_names, clip.root_position,
                   clip.root_orientation, clip.joint_positions, [1.0, 0, 0])


# -- files -----------------------------------------------------------------------------------

def npz_arrays(path):
    with np.load(path) as archive:
        return {key: archive[key] for key in archive.files}


# The generator rounds what it stores (clip_generator: positions and angles to 1e-6, quaternions
# to 1e-9). On another processor the IK may land an ulp away and round the other way, so a clip
# regenerated elsewhere matches the shipped one to one rounding step, plus the float64
# representation error of values of order 1 (rtol).
ROUNDING_STEP = {'root_position': 1e-6, 'root_orientation': 1e-9, 'joint_positions': 1e-6}


def assert_same_to_one_rounding_step(header, shipped_header, arrays, shipped_arrays):
    assert arrays.keys() == shipped_arrays.keys()
    for name, step in ROUNDING_STEP.items():
        np.testing.assert_allclose(arrays[name], shipped_arrays[name], rtol=1e-12, atol=step,
                                   err_msg=name)
    np.testing.assert_allclose(header.pop('root_displacement_per_cycle'),
                               shipped_header.pop('root_displacement_per_cycle'),
                               rtol=1e-12, atol=1e-6)
    generator, shipped_generator = header.pop('generator'), shipped_header.pop('generator')
    assert header == shipped_header
    assert generator.keys() == shipped_generator.keys()
    for key, value in generator.items():
        if isinstance(value, list):  # settings the generator derived and rounded to 1e-6
            np.testing.assert_allclose(value, shipped_generator[key], rtol=1e-12, atol=1e-6)
        else:
            assert value == shipped_generator[key], key


def test_save_then_load_round_trips_with_stable_bytes(shipped, tmp_path, kinematics):
    clip = shipped['hop']
    first = save_clip(clip, tmp_path / 'a')
    second = save_clip(load_clip(first[1], kinematics.config, kinematics.model), tmp_path / 'b')
    for one, two in zip(first, second):  # same build, same process: the same bytes
        assert one.read_bytes() == two.read_bytes()
    # Against the shipped file, written by another build: the values are copied, so equal; the
    # bytes are not compared (the deflate stream depends on the zlib that Python links).
    for name, array in npz_arrays(shipped_clip_path('hop').with_suffix('.npz')).items():
        np.testing.assert_array_equal(npz_arrays(first[1])[name], array, err_msg=name)
    again = load_clip(first[0])
    np.testing.assert_array_equal(again.joint_positions, clip.joint_positions)
    assert again.generator == clip.generator and again.description == clip.description


def test_generator_is_deterministic_and_reproduces_the_shipped_trot(tmp_path, kinematics):
    first = save_clip(generate_clip('trot', kinematics)[0], tmp_path / 'first')
    second = save_clip(generate_clip('trot', kinematics)[0], tmp_path / 'second')
    for one, two in zip(first, second):  # same code, same inputs, same process: bit for bit
        assert one.read_bytes() == two.read_bytes()
    stem = shipped_clip_path('trot')
    header, shipped_header = (yaml.safe_load(path.read_text())
                              for path in (first[0], stem.with_suffix('.yaml')))
    assert_same_to_one_rounding_step(header, shipped_header, npz_arrays(first[1]),
                                     npz_arrays(stem.with_suffix('.npz')))


def corrupt(header, arrays, field, value):
    if field in arrays or field.startswith('array:'):
        arrays[field.removeprefix('array:')] = value
    else:
        header[field] = value


@pytest.mark.parametrize('field, value, where, message', [
    ('joint_positions', np.zeros((30, 17)), 'npz', "array 'joint_positions' has shape (30, 17)"),
    ('root_position', np.zeros((29, 3)), 'npz', 'disagree on the frame count'),
    ('root_orientation', np.tile([1.0, 0, 0, 0.1], (30, 1)), 'npz', 'not a unit quaternion'),
    ('root_position', np.full((30, 3), np.nan), 'npz', "'root_position' has a non-finite"),
    ('array:extra', np.zeros(3), 'npz', "unknown array(s) ['extra']"),
    ('frame_rate_hz', 0.0, 'yaml', "'frame_rate_hz' must be positive"),
    ('frame_rate_hz', 'fast', 'yaml', "field 'frame_rate_hz' has the wrong type"),
    ('frame_count', 31, 'yaml', "field 'frame_count' is 31"),
    ('duration_s', 0.7, 'yaml', "field 'duration_s' is 0.7"),
    ('units', {'length': 'mm', 'angle': 'rad', 'time': 's', 'quaternion': 'wxyz'}, 'yaml',
     "field 'units' must be"),
    ('format_version', 2, 'yaml', "'format_version' is 2"),
    ('frame_rate_hz', float('nan'), 'yaml', "'frame_rate_hz' must be positive"),
    ('root_displacement_per_cycle', ['a', 0, 0], 'yaml', "'root_displacement_per_cycle' must"),
    ('loop', 'yes', 'yaml', "field 'loop' has the wrong type"),
    ('colour', 'red', 'yaml', "unknown field(s) ['colour']"),
])
def test_bad_fields_name_the_file_and_the_field(tmp_path, field, value, where, message):
    header, arrays = raw_clip()
    corrupt(header, arrays, field, value)
    stem = write_raw(tmp_path, header, arrays)
    with pytest.raises(ClipError) as error:
        load_clip(stem)
    assert message in str(error.value)
    assert str(error.value).startswith(f'{stem}.{where}: ')


def test_joint_names_and_limits_are_checked_against_the_robot(tmp_path):
    header, arrays = raw_clip()
    names = header['joint_names']
    header['joint_names'] = names[1:] + names[:1]
    with pytest.raises(ClipError, match=r"'joint_names' differs .*order differs"):
        load_clip(write_raw(tmp_path, header, arrays))
    header['joint_names'] = names[:-1] + ['arm_gripper']
    with pytest.raises(ClipError, match=r"missing \['arm_wr1'\], unknown \['arm_gripper'\]"):
        load_clip(write_raw(tmp_path, header, arrays))
    header['joint_names'] = names
    arrays['joint_positions'][7, 2] = 0.5  # front_left_knee only bends backwards
    with pytest.raises(ClipError) as error:
        load_clip(write_raw(tmp_path, header, arrays))
    assert "joint 'front_left_knee' is 0.5000 rad at frame 7, outside its limits" in \
        str(error.value)


def test_missing_files_arrays_and_fields(tmp_path):
    header, arrays = raw_clip()
    with pytest.raises(ClipError, match='cannot read clip header'):
        load_clip(tmp_path / 'absent')
    stem = write_raw(tmp_path, header, {k: v for k, v in arrays.items() if k != 'joint_positions'})
    with pytest.raises(ClipError, match=r"missing array\(s\) \['joint_positions'\]"):
        load_clip(stem)
    stem.with_suffix('.npz').unlink()
    with pytest.raises(ClipError, match='cannot read clip frames'):
        load_clip(stem.with_suffix('.yaml'))
    del header['joint_names']
    stem = write_raw(tmp_path, header, arrays)
    with pytest.raises(ClipError, match=r"missing field\(s\) \['joint_names'\]"):
        load_clip(stem)
    stem.with_suffix('.yaml').write_text('name: [unclosed\n')
    with pytest.raises(ClipError, match='not valid YAML'):
        load_clip(stem)
    with pytest.raises(ClipError, match="no shipped clip 'moonwalk'"):
        load_shipped_clip('moonwalk')
