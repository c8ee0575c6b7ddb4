"""A fixed action latency in evaluation: exactly its physics steps, in full physics; the sweep."""

from pathlib import Path

from lpn_controller.policy_format import load_policy
import numpy as np
import pytest
from sim_bridge.config import MODEL_DIR
from smooth_policy_trainer.config.env_config import EnvConfig
from smooth_policy_trainer.envs.imitation_env import ImitationEnv
from smooth_policy_trainer.evaluation.evaluate import evaluate_policy, evaluation_env_config
from smooth_policy_trainer.evaluation.latency_sweep import (first_fall_delay, latency_sweep,
                                                            sweep_env_config, sweep_table)

LPN_TROT = Path(__file__).resolve().parents[3] / 'quadruped_arm_bringup' / 'policies' / 'lpn_trot'
# lpn_trot was trained in fast physics; the sweep runs it in full physics, as transfers do.
full_physics = pytest.mark.filterwarnings('ignore::sim_bridge.physics.PhysicsMismatchWarning')


@pytest.mark.parametrize('latency_s, late_steps', [(0.006, 3), (0.026, 13)])
def test_a_fixed_latency_delays_each_action_by_its_physics_steps(latency_s, late_steps):
    config = evaluation_env_config(EnvConfig(clip='trot', physics='full'), 1, 1.0, 0,
                                   action_latency_s=latency_s)
    env = ImitationEnv(config)
    try:
        assert env.randomizer.config.enabled_groups() == ['action_latency']
        substeps = env.sim.config.substeps
        assert (env.sim.config.physics_dt, substeps) == (0.002, 10)   # full physics, 50 Hz
        env.reset()   # draws the episode's latency: [d, d] is d
        np.testing.assert_array_equal(env.randomizer.latency_substeps, [late_steps])
        simulator = env.sim.envs[0]
        held = [simulator.joint_targets.copy()]   # the reset pose, until an action arrives
        applied, issued = [], []
        advance, step = simulator._advance, env.randomizer.step

        def recording_advance(steps):   # the targets in force at each physics step
            applied.extend([simulator.joint_targets.copy()] * steps)
            return advance(steps)

        def recording_step(targets):   # the targets each control step issues
            issued.append(np.array(targets[0]))
            return step(targets)
        simulator._advance, env.randomizer.step = recording_advance, recording_step
        rng = np.random.default_rng(0)
        for _ in range(4):
            env.step(rng.normal(0.0, 0.1, (1, env.num_actions)))
        limits = simulator.joint_limits
        issued = [np.clip(targets, limits[:, 0], limits[:, 1]) for targets in issued]
        assert len(applied) == 4 * substeps
        for physics_step, targets in enumerate(applied):
            # Control step k issues its targets at physics step k * substeps; they act from
            # late_steps physics steps later.
            k = (physics_step - late_steps) // substeps
            np.testing.assert_allclose(targets, issued[k] if k >= 0 else held[0], atol=1e-12)
    finally:
        env.close()


@full_physics
def test_a_latency_off_the_physics_grid_is_refused():
    policy = load_policy(LPN_TROT)
    with pytest.raises(ValueError, match='not a whole number of physics steps of 2 ms'):
        evaluate_policy(policy, sweep_env_config(policy), episodes=1, seconds=0.1,
                        action_latency_s=0.005)
    with pytest.raises(ValueError, match='at least 0 s'):
        evaluation_env_config(EnvConfig(clip='trot'), 1, 1.0, 0, action_latency_s=-0.01)


@full_physics
def test_the_sweep_evaluates_each_delay_in_full_physics_on_both_models():
    policy = load_policy(LPN_TROT)
    other = MODEL_DIR / 'quadruped_arm.yaml'   # the packaged robot through the transfer path
    home = latency_sweep(policy, (0.0, 0.02), episodes=1, seconds=0.5)
    moved = latency_sweep(policy, (0.02,), other, episodes=1, seconds=0.5)
    assert [row['action_latency_s'] for row in home] == [0.0, 0.02]
    for row in home + moved:
        assert row['evaluation']['physics'] == 'full'
        assert row['evaluation']['action_latency_s'] == row['action_latency_s']
        assert 0.0 <= row['survival_rate'] <= 1.0 and row['hfr_percent'] is not None
        assert row['hfr_power_weighted_percent'] is not None
    assert sweep_env_config(policy, other).start_on_floor
    assert not sweep_env_config(policy).start_on_floor
    assert [row['start'] for row in home + moved] == ['clip', 'clip', 'on floor']
    table = sweep_table([('lpn_trot', home), ('lpn_trot', moved)])
    assert '| lpn_trot | quadruped_arm | clip | 20 |' in table
    assert '| lpn_trot | quadruped_arm | on floor | 20 |' in table
    assert first_fall_delay([{'action_latency_s': 0.0, 'survival_rate': 1.0},
                             {'action_latency_s': 0.03, 'survival_rate': 0.5},
                             {'action_latency_s': 0.04, 'survival_rate': 0.0}]) == 0.03
    assert first_fall_delay(home[:1] if home[0]['survival_rate'] == 1.0 else []) is None
