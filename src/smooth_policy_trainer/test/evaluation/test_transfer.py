"""
Sim-to-sim transfer: a shipped policy on another robot model, and the change from its home one.

The other model is the packaged one with every commanded joint renamed (prefix ``x_``), the
commanded joints listed in another order (arm first), the thigh bodies renamed and the IMU
sensors removed (readings from the imu site's frame): the same physics under other names, so
the policy must do on it what it does at home.
"""

from dataclasses import replace
import json
from pathlib import Path
import re
import subprocess
import sys

from lpn_controller.policy_format import load_policy
import numpy as np
import pytest
from sim_bridge.config import load_config, MODEL_DIR
from smooth_policy_trainer.cli.evaluate import main as evaluate_main
from smooth_policy_trainer.config.env_config import EnvConfig
from smooth_policy_trainer.envs.imitation_env import ImitationEnv
from smooth_policy_trainer.evaluation import evaluate
from smooth_policy_trainer.evaluation.transfer import CHANGE_FIGURES, change_lines, PolicyJoints
from smooth_policy_trainer.motion.clip_files import ClipError
from smooth_policy_trainer.motion.clips import load_shipped_clip
import yaml

POLICY = Path(__file__).resolve().parents[3] / 'quadruped_arm_bringup' / 'policies' / \
    'lpn_trot_arm_wave'
HOME = load_config()
ARM = [name for name in HOME.joint_names if name.startswith('arm_')]
LEGS = [name for name in HOME.joint_names if name not in ARM]


def renamed_robot(folder, joint_map=HOME.joint_names, **changes):
    """
    Write the renamed model and its robot config into ``folder``; return the config's path.

    ``joint_map`` lists the packaged joint names the config's joint_map renames.
    """
    xml = (MODEL_DIR / 'quadruped_arm.xml').read_text()
    for name in HOME.joint_names:
        xml = re.sub(rf'(<joint name=|joint=)"{name}"', rf'\1"x_{name}"', xml)
    xml = re.sub(r'<sensor>.*?</sensor>', '', xml, flags=re.S)
    xml = xml.replace('_upper_leg"', '_thigh"')
    (folder / 'renamed.xml').write_text(xml)
    raw = yaml.safe_load((MODEL_DIR / 'quadruped_arm.yaml').read_text())

    def gains(spec):
        return {(key if '*' in key else f'x_{key}'): value for key, value in spec.items()}

    raw.update(model='renamed.xml', joints=[f'x_{name}' for name in ARM + LEGS],
               kp=gains(raw['kp']), kd=gains(raw['kd']), imu_sensors=None,
               joint_map={name: f'x_{name}' for name in joint_map},
               fall_bodies=['body', '*_hip', '*_thigh', 'arm_link_*'])
    raw.update(changes)
    path = folder / 'renamed.yaml'
    path.write_text(yaml.safe_dump(raw, sort_keys=False))
    return path


@pytest.fixture(scope='module')
def robot(tmp_path_factory):
    return renamed_robot(tmp_path_factory.mktemp('renamed'))


@pytest.fixture(scope='module')
def policy():
    return load_policy(POLICY)


def test_a_shipped_clip_loads_on_the_renamed_robot(robot, tmp_path):
    env = ImitationEnv(EnvConfig(clip='trot_arm_wave', num_envs=1, robot_config=str(robot)))
    try:
        home = load_shipped_clip('trot_arm_wave')
        assert env.joint_names == tuple(f'x_{name}' for name in ARM + LEGS)
        assert env.clip.joint_names == env.joint_names
        order = [HOME.joint_names.index(name) for name in ARM + LEGS]
        assert np.array_equal(env.clip.joint_positions, home.joint_positions[:, order])
        assert np.allclose(env.clip.end_effector_positions, home.end_effector_positions)
        assert env.fall_bodies == ('body', '*_hip', '*_thigh', 'arm_link_*')
    finally:
        env.close()
    # The arm left out of the robot config's joint_map: env.joint_remap names it.
    legs_only = renamed_robot(tmp_path, joint_map=LEGS)
    config = EnvConfig(clip='trot_arm_wave', num_envs=1, robot_config=str(legs_only))
    with pytest.raises(ClipError, match=r"missing \['x_arm_sh0'"):
        ImitationEnv(config)
    remap = {name: f'x_{name}' for name in ARM}
    ImitationEnv(replace(config, joint_remap=remap)).close()
    with pytest.raises(ClipError, match="'arm_sh9' that the clip does not have"):
        ImitationEnv(replace(config, joint_remap={'arm_sh9': 'x_arm_sh0'}))


def test_the_policy_joints_are_permuted_into_the_robot_order(robot):
    joints = PolicyJoints(HOME.joint_names, load_config(robot))
    assert joints.reordered and joints.problem is None
    robot_order = np.array([HOME.joint_names.index(name) for name in ARM + LEGS])
    assert np.array_equal(joints.to_robot, robot_order)
    assert np.array_equal(np.arange(18)[robot_order][joints.to_policy], np.arange(18))
    assert PolicyJoints(HOME.joint_names, HOME).reordered is False


def test_the_renamed_model_does_what_the_home_model_does(robot, policy):
    report = evaluate.evaluate_transfer(policy, evaluate.env_config_for(policy), robot,
                                        episodes=2, seconds=0.5)
    json.dumps(report, allow_nan=False)
    home, other, change = report['home'], report['other'], report['change']
    assert set(change) == {key for key, *_ in CHANGE_FIGURES}
    assert home['survival_rate'] == 1.0 and home['joint_rmse_rad'] < 0.15
    # Same physics, same inputs, same code: the figures agree (frame IMU vs. sensors differ
    # in the last bits only).
    for key, figure in change.items():
        assert figure['home'] is not None, key
        assert figure['other'] == pytest.approx(figure['home'], rel=1e-6, abs=1e-9), key
        assert abs(figure['difference']) < 1e-6, key
    assert list(other['joint_rmse_per_joint_rad']) == [f'x_{name}' for name in ARM + LEGS]
    assert other['joint_rmse_per_joint_rad']['x_arm_sh0'] == pytest.approx(
        home['joint_rmse_per_joint_rad']['arm_sh0'], rel=1e-6, abs=1e-9)
    assert report['clip_joint_remap'] == {} and report['joint_remap'] == {}
    table = '\n'.join(change_lines(report))
    assert 'change on' in table and 'HFR (> 10 Hz)' in table and 'root position error' in table


def test_the_command_line_remaps_joints_and_writes_both_evaluations(policy, tmp_path, capsys):
    robot = renamed_robot(tmp_path, joint_map=LEGS)
    output = tmp_path / 'transfer.json'
    remap = [f'{name}=x_{name}' for name in ARM]
    assert evaluate_main(['--policy', str(POLICY), '--robot-config', str(robot),
                          '--joint-remap', *remap, '--episodes', '2', '--seconds', '0.5',
                          '--output', str(output)]) == 0
    printed = capsys.readouterr().out
    assert 'home model:' in printed and f'on {robot}:' in printed and 'change on' in printed
    report = json.loads(output.read_text())
    assert set(report) >= {'home', 'other', 'change', 'robot_config', 'joint_remap'}
    assert report['joint_remap'] == {name: f'x_{name}' for name in ARM}
    assert report['clip_joint_remap'] == report['joint_remap']
    assert report['other']['survival_rate'] == report['home']['survival_rate'] == 1.0
    assert abs(report['change']['joint_rmse_rad']['difference']) < 1e-6


@pytest.mark.parametrize('remap, message', [
    (['arm_sh9=x_arm_sh0'], "'arm_sh9' that the policy does not have"),
    (['arm_sh0=x_nope'], r"joint\(s\) 'x_nope', 'arm_sh1'.* are not its joints"),
    ([], r"joint\(s\) 'x_arm_sh0', 'x_arm_sh1'.* have no policy joint"),
])
def test_a_wrong_joint_remap_fails_naming_the_joint(policy, tmp_path, capsys, remap, message):
    robot = renamed_robot(tmp_path, joint_map=LEGS)
    assert evaluate_main(['--policy', str(POLICY), '--robot-config', str(robot),
                          '--joint-remap', *remap, '--episodes', '1', '--seconds', '0.5']) == 1
    error = capsys.readouterr().err
    assert error.startswith('evaluate: error: ') and re.search(message, error), error


def test_a_robot_config_error_names_the_file_and_field(tmp_path, capsys):
    robot = renamed_robot(tmp_path, kp={'*_hip_x': 1.0})
    assert evaluate_main(['--policy', str(POLICY), '--robot-config', str(robot)]) == 1
    error = capsys.readouterr().err
    assert f'evaluate: error: {robot}: field ' in error and "'kp'" in error


BENCH = Path(__file__).resolve().parents[4] / 'bench' / 'sim_to_sim_transfer.py'


@pytest.mark.skipif(not BENCH.is_file(), reason='bench/ is not part of an installed package')
def test_the_transfer_bench_tabulates_both_models(robot, tmp_path):
    output = tmp_path / 'transfer.json'
    done = subprocess.run(
        [sys.executable, str(BENCH), '--robot-config', str(robot), '--policies', str(POLICY),
         '--episodes', '1', '--seconds', '0.5', '--deployed-seconds', '2.5',
         '--output', str(output)],
        capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr
    rows = [line for line in done.stdout.splitlines() if line.startswith('| lpn_')]
    assert [tuple(row.split(' | ')[1:3]) for row in rows] == [
        (model, start) for model in ('home', 'other')
        for start in ('clip', 'on floor', 'deployed')]
    written = json.loads(output.read_text())
    # The renamed model is the home model: the bench reads the same figures from both.
    assert written['models']['home']['total_mass_kg'] == pytest.approx(
        written['models']['other']['total_mass_kg'])
    assert set(written['policies']) == {POLICY.name}


@pytest.mark.skipif(not BENCH.is_file(), reason='bench/ is not part of an installed package')
def test_the_transfer_bench_names_a_robot_it_does_not_know():
    done = subprocess.run([sys.executable, str(BENCH), '--robot-config', 'no_such_robot'],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 2
    assert "--robot-config: robot 'no_such_robot' is not a shipped robot configuration " \
        '(shipped: ' in done.stderr and 'menagerie_spot_arm' in done.stderr


def test_a_transfer_runs_both_models_as_their_mjcfs_say_unless_told(robot, policy):
    """The shipped policies train in fast physics; a transfer compares models in full physics."""
    home_config = evaluate.env_config_for(policy)
    assert home_config.physics == 'fast'
    report = evaluate.evaluate_transfer(policy, home_config, robot, episodes=1, seconds=0.2)
    assert report['home']['physics'] == report['other']['physics'] == 'full'
    kept = evaluate.evaluate_transfer(policy, home_config, robot, physics=None, episodes=1,
                                      seconds=0.2)
    assert kept['home']['physics'] == kept['other']['physics'] == 'fast'
