"""Domain randomisation: draws within their ranges, from their own seeded streams, recorded."""

from lpn_controller.inspect_policy import describe
from lpn_controller.policy_format import load_policy, save_policy
import numpy as np
from smooth_policy_trainer.config.domain_randomization import (DomainRandomizationConfig, GROUPS,
                                                               randomization_metadata)
from smooth_policy_trainer.config.env_config import EnvConfig
from smooth_policy_trainer.config.train_config import config_from_dict, NormalizerConfig
from smooth_policy_trainer.envs.episode_randomizer import NoDomainRandomization
from smooth_policy_trainer.envs.imitation_env import ImitationEnv
from smooth_policy_trainer.networks.export import build_policy
from smooth_policy_trainer.networks.normalizer import make_normalizer
from smooth_policy_trainer.networks.policies import make_actor

NUM_ENVS = 6


def randomized(groups, num_envs=NUM_ENVS, seed=3, **env):
    """Return an EnvConfig with these groups on ({name: {key: value}}, defaults otherwise)."""
    tree = {name: {'enabled': True, **values} for name, values in groups.items()}
    return config_from_dict({'env': {'clip': 'trot', 'num_envs': num_envs, 'seed': seed,
                                     'domain_randomization': tree, **env}}).env


def make_env(groups, **options):
    env = ImitationEnv(randomized(groups, **options))
    env.reset()
    return env


def test_off_by_default_nothing_is_built_or_recorded():
    config = EnvConfig(clip='trot', num_envs=2)
    assert config.domain_randomization.enabled_groups() == []
    env = ImitationEnv(config)
    try:
        assert isinstance(env.randomizer, NoDomainRandomization)
        assert env.randomizer.state() == {}
        assert 'randomization' not in env.policy_metadata()
    finally:
        env.close()


def within(values, bounds):
    values = np.asarray(values)
    return bool(np.all(values >= bounds[0] - 1e-12) and np.all(values <= bounds[1] + 1e-12))


def test_every_physics_draw_lies_in_its_range():
    spec = DomainRandomizationConfig()
    env = make_env({'mass': {}, 'center_of_mass': {}, 'inertia': {}, 'friction': {},
                    'foot_contact': {}, 'actuators': {}, 'joint_dynamics': {}})
    try:
        models = env.randomizer.models
        nominal, now = models.nominal[0], models.current()
        base = models.base_body
        assert within(now['base_mass'] / nominal['body_mass'][base], spec.mass.base_scale)
        assert within(now['link_mass'] / nominal['body_mass'][models.robot_bodies],
                      spec.mass.link_scale)
        assert within(now['base_ipos'] - nominal['base_ipos'], spec.center_of_mass.offset_m)
        assert within(now['base_inertia'] / nominal['base_inertia'], spec.inertia.base_scale)
        assert within(now['friction'], spec.friction.value_range)
        foot = spec.foot_contact
        assert within(now['foot_solref'][..., 0], foot.solref_timeconst_s)
        assert within(now['foot_solref'][..., 1], foot.solref_dampratio)
        assert within(now['foot_solimp'][..., 0], foot.solimp_dmin)
        assert within(now['foot_radius'] / nominal['geom_size'][models.feet, 0],
                      foot.radius_scale)
        act = spec.actuators
        arm = env.randomizer.sampler.arm
        assert arm.sum() == 6
        strength = now['torque_limit'] / nominal['forcerange'][:, 1]
        assert within(strength, act.strength_scale)
        kp, kd = now['kp'] / nominal['kp'] / strength, now['kd'] / nominal['kd'] / strength
        assert within(kp[:, ~arm], act.kp_scale) and within(kp[:, arm], act.arm_kp_scale)
        assert within(kd[:, ~arm], act.kd_scale) and within(kd[:, arm], act.arm_kd_scale)
        assert within(now['armature'] / nominal['armature'],
                      spec.joint_dynamics.armature_scale)
        assert within(now['damping'] / nominal['damping'], spec.joint_dynamics.damping_scale)
        # Drawn per environment: they differ.
        assert len(np.unique(now['base_mass'])) == NUM_ENVS
    finally:
        env.close()


def test_the_default_gain_ranges_reach_the_spot_drivers_gains():
    # The Spot driver's defaults against the packaged robot's trained gains (hx, hy, kn; arm).
    spec = DomainRandomizationConfig().actuators
    legs_kp = np.array([624, 936, 286]) / 500.0
    legs_kd = np.array([5.2, 5.2, 2.04]) / 10.0
    arm_kp = np.array([1020, 255, 204, 102, 102, 102]) / np.array([100, 100, 80, 30, 30, 30])
    arm_kd = np.array([10.2, 15.3, 10.2, 2.04, 2.04, 2.04]) / np.array([3, 3, 2, .8, .8, .8])
    assert within(legs_kp, spec.kp_scale) and within(legs_kd, spec.kd_scale)
    assert within(arm_kp, spec.arm_kp_scale) and within(arm_kd, spec.arm_kd_scale)


def test_latency_and_push_draws_lie_in_their_ranges():
    env = make_env({'action_latency': {'seconds': [0.004, 0.05]},
                    'observation_latency': {'joint_state_steps': [1, 2], 'imu_steps': [0, 3],
                                            'odometry_steps': [2, 2]},
                    'pushes': {'interval_s': [0.1, 0.2], 'max_velocity_m_s': 1.5}},
                   num_envs=16)
    try:
        randomizer = env.randomizer
        latency_s = randomizer.latency_substeps * env.robot.physics_dt
        assert within(latency_s, (0.004 - 1e-3, 0.05 + 1e-3))
        sensors = randomizer.sensors.latency
        assert within(sensors['joint_states'], (1, 2)) and within(sensors['imu'], (0, 3))
        np.testing.assert_array_equal(sensors['odometry'], 2)
        assert within(randomizer.time_to_push, (0.1, 0.2))
        sizes = []
        for _ in range(40):
            env.step(np.zeros((16, env.num_actions)))
            sizes.append(np.linalg.norm(randomizer.last_push[:, :2], axis=1))
        assert randomizer.pushes.sum() > 16
        assert within(np.concatenate(sizes), (0.0, 1.5))
    finally:
        env.close()


def draws(config):
    env = ImitationEnv(config)
    env.reset()
    try:
        current = env.randomizer.models.current() if env.randomizer.models else {}
        return current, env.randomizer.latency_substeps.copy()
    finally:
        env.close()


def test_randomisation_leaves_the_environments_own_draws_alone():
    plain = ImitationEnv(EnvConfig(clip='trot', num_envs=NUM_ENVS, seed=3))
    everything = ImitationEnv(randomized({name: {} for name in GROUPS}))
    try:
        plain.reset()
        everything.reset()
        # Start phases and reset noise come from the environment's stream, not the groups'.
        np.testing.assert_array_equal(plain.start_phase, everything.start_phase)
        np.testing.assert_array_equal(plain.sim.read_state().joint_positions,
                                      everything.sim.read_state().joint_positions)
    finally:
        plain.close()
        everything.close()


def test_draws_repeat_with_the_seed_and_each_group_has_its_own_stream():
    mass = {'mass': {}}
    one, _ = draws(randomized(mass))
    again, _ = draws(randomized(mass))
    for key in one:
        np.testing.assert_array_equal(one[key], again[key])
    other_seed, _ = draws(randomized(mass, seed=4))
    assert not np.array_equal(one['base_mass'], other_seed['base_mass'])
    # Turning other groups on does not change the mass draws.
    with_more, latency = draws(randomized({**mass, 'friction': {}, 'actuators': {},
                                           'action_latency': {}}))
    np.testing.assert_array_equal(with_more['base_mass'], one['base_mass'])
    np.testing.assert_array_equal(with_more['link_mass'], one['link_mass'])
    assert latency.any()


def test_the_ranges_are_recorded_in_the_exported_policy(tmp_path):
    config = randomized({'pushes': {'max_velocity_m_s': 1.2}, 'actuators': {},
                         'observation_latency': {}})
    env = ImitationEnv(config)
    try:
        task = env.policy_metadata()
        actor = make_actor('lpn', env.observation_size, env.num_actions, hidden_sizes=(8,),
                           rank=2)
        normalizer = make_normalizer(NormalizerConfig(), env.observation_size)
        policy = build_policy(actor, normalizer, task, {'env': {}})
    finally:
        env.close()
    expected = randomization_metadata(config.domain_randomization)
    assert set(expected) == {'pushes', 'actuators', 'observation_latency'}
    assert expected['pushes']['max_velocity_m_s'] == 1.2
    assert expected['actuators']['arm_kp_scale'] == [0.8, 11.0]
    path = save_policy(tmp_path / 'policy', policy.metadata, policy.weights)
    loaded = load_policy(path)
    assert loaded.metadata.randomization == expected
    text = describe(str(path))
    assert 'pushes (interval_s [2.0, 5.0], max_velocity_m_s 1.2' in text
