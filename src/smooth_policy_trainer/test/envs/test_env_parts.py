"""The imitation environment's parts, each switch tested once, where its part is made."""

from types import SimpleNamespace

import numpy as np
import pytest
from smooth_policy_trainer.config.env_config import (EnvConfig, LinearVelocityObservation,
                                                     RandomizationConfig)
from smooth_policy_trainer.envs.action_pipeline import ActionPipeline
from smooth_policy_trainer.envs.imitation_reward import ImitationReward
from smooth_policy_trainer.envs.observed_inputs import (HeadingOrigin, make_heading,
                                                        make_odometry, NoHeading, NoOdometry,
                                                        OdometryModel)
from smooth_policy_trainer.envs.randomization import (DomainRandomization, make_randomization,
                                                      NoRandomization)
from smooth_policy_trainer.envs.termination import Termination

UPRIGHT = np.array([1.0, 0.0, 0.0, 0.0])


def test_the_action_pipeline_clips_filters_delays_and_scales():
    config = EnvConfig(action_clip=1.0, action_scale=0.5, action_filter_alpha=0.5,
                       randomization=RandomizationConfig(max_latency_steps=1))
    pipeline = ActionPipeline(config, 2, 3, default_pose=np.full(3, 0.1))
    pipeline.latency[:] = [0, 1]
    targets, change = pipeline.joint_targets(np.full((2, 3), 4.0))     # clipped to 1
    np.testing.assert_allclose(change, 1.0)
    np.testing.assert_allclose(pipeline.commanded_action, 0.5)          # half-way filter
    np.testing.assert_allclose(targets[0], 0.1 + 0.5 * 0.5)
    np.testing.assert_allclose(targets[1], 0.1)                         # one step late
    targets, change = pipeline.joint_targets(np.full((2, 3), 1.0))
    np.testing.assert_allclose(change, 0.0)                             # raw minus raw
    np.testing.assert_allclose(targets[1], 0.1 + 0.5 * 0.5)
    pipeline.reset([0])
    assert np.all(pipeline.previous_action[0] == 0) and np.all(pipeline.previous_action[1] == 1)
    with pytest.raises(ValueError, match='NaN'):
        pipeline.joint_targets(np.full((2, 3), np.nan))
    restored = ActionPipeline(config, 2, 3, np.zeros(3))
    restored.load_state(pipeline.state())
    for name in ActionPipeline.STATE:
        np.testing.assert_array_equal(getattr(restored, name), getattr(pipeline, name))


def reference_of(n):
    return SimpleNamespace(root_orientation=np.tile(UPRIGHT, (n, 1)),
                           root_linear_velocity=np.tile([0.5, 0.0, 0.0], (n, 1)),
                           root_position=np.zeros((n, 3)))


def test_odometry_is_made_once_enabled_or_not():
    rng = np.random.default_rng(0)
    spec = LinearVelocityObservation(enabled=True, noise=0.0, bias=0.0, max_latency_steps=1)
    odometry = make_odometry(spec, 2, rng)
    assert type(odometry) is OdometryModel
    odometry.reset([0, 1], reference_of(2))
    np.testing.assert_allclose(odometry.observed_velocity, [[0.5, 0, 0]] * 2)
    odometry.velocity_latency[:] = [0, 1]
    odometry.update(SimpleNamespace(base_orientation=np.tile(UPRIGHT, (2, 1)),
                                    base_linear_velocity=np.tile([1.0, 0, 0], (2, 1))))
    np.testing.assert_allclose(odometry.observed_velocity, [[1.0, 0, 0], [0.5, 0, 0]])
    # Disabled: zeros, no history, and no random numbers drawn (episodes stay as they were).
    before = rng.bit_generator.state
    off = make_odometry(LinearVelocityObservation(enabled=False), 2, rng)
    assert type(off) is NoOdometry
    off.reset([0, 1], reference_of(2))
    off.update(None)
    assert rng.bit_generator.state == before
    assert np.all(off.observed_velocity == 0)


def test_heading_is_made_once_enabled_or_not():
    yawed = np.array([np.cos(0.3), 0.0, 0.0, np.sin(0.3)])   # 0.6 rad of yaw
    sim = SimpleNamespace(read_state=lambda: SimpleNamespace(imu_orientation=yawed))
    heading = make_heading(True, 2)
    assert type(heading) is HeadingOrigin
    heading.reset(1, sim)
    np.testing.assert_allclose(heading.heading_origin, [0.0, 0.6])
    off = make_heading(False, 2)
    assert type(off) is NoHeading
    off.reset(1, None)   # reads nothing
    assert np.all(off.heading_origin == 0)


def test_randomization_is_made_once_enabled_or_not():
    rng = np.random.default_rng(0)
    model = SimpleNamespace(ngeom=2, geom_bodyid=np.array([0, 1]), body_mass=np.array([0.0, 5.0]),
                            body=lambda name: SimpleNamespace(id=1),
                            geom_friction=np.ones((2, 3)))
    robot = SimpleNamespace(base_body='base', kp=[100.0], kd=[2.0])
    gains = []
    sim = SimpleNamespace(model=model, set_pd_gains=lambda kp, kd: gains.append((kp, kd)))
    latency = np.zeros(1, dtype=np.int64)
    spec = RandomizationConfig(enabled=True, friction=(0.5, 0.5), base_mass_scale=(2.0, 2.0),
                               pd_gain_scale=(0.5, 0.5), max_latency_steps=0)
    randomization = make_randomization(spec, robot, model, rng)
    assert type(randomization) is DomainRandomization and randomization.floor_geoms == [0]
    randomization.apply(sim, latency, 0)
    assert model.geom_friction[0, 0] == 0.5 and model.body_mass[1] == 10.0
    np.testing.assert_allclose(gains[0][0], [50.0])
    before = rng.bit_generator.state
    off = make_randomization(RandomizationConfig(enabled=False), robot, model, rng)
    assert type(off) is NoRandomization
    off.apply(sim, latency, 0)
    assert rng.bit_generator.state == before and len(gains) == 1


def state_of(height, orientation):
    return SimpleNamespace(base_position=np.array([[0.0, 0.0, height]]),
                           base_orientation=np.array([orientation]))


def test_termination_names_its_reasons_and_adds_root_drift_only_when_set():
    touching = np.array([False])
    reference = SimpleNamespace(root_position=np.array([[0.0, 0.0, 0.5]]),
                                root_orientation=np.array([UPRIGHT]))
    errors = {'root_position': np.array([0.04])}   # 0.2 m of horizontal drift
    termination = Termination(EnvConfig(), lambda: touching)
    assert list(termination.checks) == ['fall', 'height', 'tilt']
    terminated, reasons = termination(state_of(0.5, UPRIGHT), reference, errors)
    assert not terminated[0] and not any(hit[0] for hit in reasons.values())
    terminated, reasons = termination(state_of(0.1, UPRIGHT), reference, errors)
    assert terminated[0] and reasons['height'][0] and not reasons['tilt'][0]
    tilted = np.array([np.cos(0.5), np.sin(0.5), 0.0, 0.0])   # 1 rad of roll
    terminated, reasons = termination(state_of(0.5, tilted), reference, errors)
    assert terminated[0] and reasons['tilt'][0]
    drifting = Termination(EnvConfig(max_root_drift=0.1), lambda: touching)
    terminated, reasons = drifting(state_of(0.5, UPRIGHT), reference, errors)
    assert terminated[0] and reasons['root_drift'][0]


def test_the_reward_returns_named_terms_and_adds_the_action_rate_only_when_weighted():
    errors = {name: np.zeros(2) for name in ('pose', 'velocity', 'end_effector', 'root',
                                             'root_velocity', 'root_position')}
    plain = ImitationReward(EnvConfig().reward_terms)
    rewards, terms = plain(errors, np.ones((2, 3)))
    assert 'action_rate' not in terms and not plain.uses_world_terms
    np.testing.assert_allclose(rewards, sum(terms.values()))
    rated = ImitationReward(EnvConfig().reward_terms, action_rate_weight=2.0, control_dt=0.02)
    rated_rewards, rated_terms = rated(errors, np.ones((2, 3)))
    np.testing.assert_allclose(rated_terms['action_rate'], -2.0 * 0.02 * 3.0)
    np.testing.assert_allclose(rated_rewards, rewards - 0.12)
