"""
Starts on another model's floor: the reference pose with the root height that model needs.

The other model is the packaged one with longer shanks and bigger feet (foot centres 4 cm
lower, radius 4 cm instead of 2.5): at the clip's root height its feet start 4-5 cm inside the
floor.
"""

import json
from pathlib import Path
import subprocess
import sys

from lpn_controller.policy_format import load_policy
import numpy as np
import pytest
from sim_bridge.config import MODEL_DIR
from smooth_policy_trainer.config.env_config import EnvConfig
from smooth_policy_trainer.envs.floor_start import ClipHeightStart, FloorStart
from smooth_policy_trainer.envs.imitation_env import ImitationEnv
from smooth_policy_trainer.evaluation import evaluate
import yaml

POLICY = Path(__file__).resolve().parents[3] / 'quadruped_arm_bringup' / 'policies' / 'lpn_trot'
BENCH = Path(__file__).resolve().parents[4] / 'bench' / 'sim_to_sim_transfer.py'
FEET = ('front_left', 'front_right', 'rear_left', 'rear_right')


@pytest.fixture(scope='module')
def long_legs(tmp_path_factory):
    """Write the longer-legged model and its robot config; return the config's path."""
    folder = tmp_path_factory.mktemp('long_legs')
    xml = (MODEL_DIR / 'quadruped_arm.xml').read_text()
    foot = '<geom type="sphere" size="0.025" pos="0 0 -0.34"'
    assert foot in xml
    xml = xml.replace(foot, '<geom type="sphere" size="0.04" pos="0 0 -0.38"')
    for name in FEET:
        site = f'<site name="{name}_foot" pos="0 0 -0.34"'
        assert site in xml
        xml = xml.replace(site, f'<site name="{name}_foot" pos="0 0 -0.38"')
    (folder / 'long_legs.xml').write_text(xml)
    raw = yaml.safe_load((MODEL_DIR / 'quadruped_arm.yaml').read_text())
    raw['model'] = 'long_legs.xml'
    path = folder / 'long_legs.yaml'
    path.write_text(yaml.safe_dump(raw, sort_keys=False))
    return path


def floor_distances(clip, robot_config, start_on_floor, reset_joint_noise=0.05):
    env = ImitationEnv(EnvConfig(clip=clip, num_envs=6, robot_config=str(robot_config),
                                 start_on_floor=start_on_floor, seed=4,
                                 reset_joint_noise=reset_joint_noise))
    try:
        env.reset()
        floor = FloorStart(env.clip, env.sim.envs[0].model, env.robot)
        reference = env.clip.sample(env.start_phase)
        return (np.array([floor.floor_distance(sim) for sim in env.sim.envs]),
                floor.clearance(reference), env.sim.read_state())
    finally:
        env.close()


@pytest.mark.parametrize('clip', ['trot', 'hop'])
def test_the_stance_feet_start_on_the_other_models_floor(long_legs, clip):
    sunk, clearance, at_clip_height = floor_distances(clip, long_legs, False)
    assert np.all(sunk - clearance < -0.03)   # the clip height sinks the feet into this floor
    standing, clearance_again, on_floor = floor_distances(clip, long_legs, True)
    np.testing.assert_allclose(clearance_again, clearance)
    assert np.all(clearance >= 0.0) and np.all(clearance < 0.05)
    # The lowest foot stands at the clip's clearance for that phase (0 in stance).
    np.testing.assert_allclose(standing, clearance, atol=1e-6)
    # Only the root height moved: pose, orientation and velocities are the reference's.
    np.testing.assert_allclose(on_floor.joint_positions, at_clip_height.joint_positions)
    np.testing.assert_allclose(on_floor.base_orientation, at_clip_height.base_orientation)
    np.testing.assert_allclose(on_floor.base_linear_velocity, at_clip_height.base_linear_velocity)
    lift = on_floor.base_position[:, 2] - at_clip_height.base_position[:, 2]
    np.testing.assert_allclose(lift, clearance - sunk, atol=1e-6)


def test_the_start_is_chosen_once_where_the_env_is_made():
    for start_on_floor, kind in ((False, ClipHeightStart), (True, FloorStart)):
        env = ImitationEnv(EnvConfig(clip='trot', num_envs=1, start_on_floor=start_on_floor))
        try:
            assert type(env.reference_start) is kind
        finally:
            env.close()


def test_on_the_home_model_the_floor_start_keeps_the_clips_height():
    # The clip was made on this model: without reset noise its feet already stand on the
    # floor (reset noise on the joints moves them by up to about 1.5 cm).
    home = Path(MODEL_DIR / 'quadruped_arm.yaml')
    _, _, at_clip_height = floor_distances('trot', home, False, reset_joint_noise=0.0)
    _, _, on_floor = floor_distances('trot', home, True, reset_joint_noise=0.0)
    lift = on_floor.base_position[:, 2] - at_clip_height.base_position[:, 2]
    assert np.abs(lift).max() < 1e-4


def test_the_policy_is_evaluated_from_both_starts_on_the_other_model(long_legs):
    policy = load_policy(POLICY)
    report = evaluate.evaluate_transfer(policy, evaluate.env_config_for(policy), long_legs,
                                        start_on_floor=True, episodes=2, seconds=0.5)
    json.dumps(report, allow_nan=False)
    assert report['other']['episodes'] == 2


def test_the_transfer_bench_reports_every_start_on_a_tiny_budget(long_legs, tmp_path):
    output = tmp_path / 'transfer.json'
    done = subprocess.run(
        [sys.executable, str(BENCH), '--robot-config', str(long_legs), '--policies',
         str(POLICY), '--episodes', '1', '--seconds', '0.3', '--deployed-seconds', '2.5',
         '--output', str(output)], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr
    written = json.loads(output.read_text())
    starts = written['policies']['lpn_trot']
    assert set(starts) == {'clip', 'on floor', 'deployed'}
    deployed = starts['deployed']['other']
    assert deployed['engaged_s'] is not None and deployed['engaged_s'] < 2.5
    assert deployed['survival_rate'] == 1.0
    assert written['models']['other']['foot_radius_m'] == [0.04]
