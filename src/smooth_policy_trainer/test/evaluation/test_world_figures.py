"""World-frame evaluation figures on hand-made trajectories whose answers are known."""

import math

from lpn_controller.rotations import heading_frame
import numpy as np
import pytest
from sim_bridge.config import load_config
from smooth_policy_trainer.evaluation.world_figures import (gripper_figures,
                                                            hop_figures, longest_run,
                                                            motion_figures, net_motion,
                                                            reference_flight_time)
from smooth_policy_trainer.motion.clips import load_shipped_clip

DT = 0.02


def yaw_quaternion(yaw):
    return np.array([math.cos(yaw / 2), 0.0, 0.0, math.sin(yaw / 2)])


def straight_line(speed, yaw, steps, episodes=1, lateral=0.0):
    """Return a base gliding at ``speed`` along, ``lateral`` across heading ``yaw`` (T, N, ...)."""
    direction = np.array([math.cos(yaw), math.sin(yaw), 0.0])
    left = np.array([-math.sin(yaw), math.cos(yaw), 0.0])
    velocity = speed * direction + lateral * left
    times = np.arange(steps)[:, None, None] * DT
    position = np.array([1.0, -2.0, 0.5]) + times * velocity
    position = np.repeat(position, episodes, axis=1)
    orientation = np.tile(yaw_quaternion(yaw), (steps, episodes, 1))
    return position, orientation, np.tile(velocity, (steps, episodes, 1))


def test_heading_frame_and_longest_run():
    along, across = heading_frame([1.0, 1.0, 5.0], math.pi / 4)
    assert along == pytest.approx(math.sqrt(2)) and across == pytest.approx(0.0, abs=1e-12)
    assert longest_run([0, 1, 1, 0, 1, 1, 1, 0]) == 3
    assert longest_run([0, 0]) == 0 and longest_run([1, 1]) == 2


def test_a_base_at_a_known_speed_and_heading():
    steps = 250  # 5 s
    position, orientation, velocity = straight_line(0.4, math.radians(30), steps, lateral=0.05)
    # The reference goes 0.1 m/s faster along the same line: 0.1 m behind per second.
    reference = straight_line(0.5, math.radians(30), steps)
    living = np.ones((steps, 1), dtype=bool)
    figures = motion_figures(position, orientation, velocity, *reference, living, DT)
    assert figures['forward_speed_m_s'] == pytest.approx(0.4)
    assert figures['lateral_speed_m_s'] == pytest.approx(0.05)
    assert figures['net_forward_speed_m_s'] == pytest.approx(0.4)
    assert figures['net_lateral_speed_m_s'] == pytest.approx(0.05)
    assert figures['reference_forward_speed_m_s'] == pytest.approx(0.5)
    assert figures['reference_net_forward_speed_m_s'] == pytest.approx(0.5)
    assert figures['root_height_error_rms_m'] == pytest.approx(0.0, abs=1e-12)
    over_time = figures['root_position_error_over_time']
    assert [row['t_s'] for row in over_time] == [1.0, 2.0, 3.0, 4.0, 5.0]
    for row in over_time:  # sampled at the step that ends each second: t = s - DT
        expected = math.hypot(0.1, 0.05) * (row['t_s'] - DT)
        assert row['mean_m'] == pytest.approx(expected) and row['episodes'] == 1


def test_a_fallen_episode_stops_counting():
    steps = 100
    position, orientation, velocity = straight_line(0.5, 0.0, steps, episodes=2)
    velocity[60:, 1] = [-3.0, 0.0, 0.0]  # after its fall, a new episode: must not count
    living = np.ones((steps, 2), dtype=bool)
    living[50:, 1] = False
    figures = motion_figures(position, orientation, velocity, position, orientation, velocity,
                             living, DT)
    assert figures['forward_speed_m_s'] == pytest.approx(0.5)
    assert figures['root_position_error_over_time'][-1]['episodes'] == 1


def known_hops(steps, period_steps, flight_steps, apex, start_offset=0):
    """Airborne for ``flight_steps`` in the middle of each cycle, the base peaking at ``apex``."""
    t = np.arange(steps) + start_offset
    cycle = t // period_steps
    within = t % period_steps
    start = (period_steps - flight_steps) // 2
    airborne = (within >= start) & (within < start + flight_steps)
    height = np.full(steps, 0.45)
    middle = start + (flight_steps - 1) / 2
    height[airborne] = apex - 0.01 * ((within[airborne] - middle) / flight_steps) ** 2
    return airborne[:, None], height[:, None], cycle[:, None].astype(float)


def test_a_known_hop():
    # 0.8 s cycles (40 steps) with 0.2 s of flight (10 steps) and a 0.56 m apex; the episode
    # starts 7 steps into a cycle and lasts 10 s: 12 whole cycles after the first partial one,
    # the last cut by the episode's end.
    airborne, height, cycle = known_hops(500, 40, 10, 0.56, start_offset=7)
    _, reference_height, _ = known_hops(500, 40, 11, 0.57, start_offset=7)
    living = np.ones((500, 1), dtype=bool)
    figures = hop_figures(airborne, height, reference_height, cycle, living, DT,
                          reference_flight_s=0.22)
    assert figures['cycles'] == 11
    assert figures['flight_time_s'] == pytest.approx(0.2)
    assert figures['flight_time_min_s'] == pytest.approx(0.2)
    assert figures['cycles_with_flight'] == 1.0
    assert figures['apex_height_m'] == pytest.approx(0.56, abs=1e-4)
    assert figures['reference_apex_height_m'] == pytest.approx(0.57, abs=1e-4)
    assert figures['apex_error_max_m'] == pytest.approx(0.01, abs=1e-4)
    # A robot that only bounces (never airborne for half the reference's flight) is caught.
    short, _, _ = known_hops(500, 40, 4, 0.56, start_offset=7)
    assert hop_figures(short, height, reference_height, cycle, living, DT,
                       reference_flight_s=0.22)['cycles_with_flight'] == 0.0


def test_gripper_error_in_the_world_and_base_drift():
    steps = 50
    base, _, _ = straight_line(0.1, 0.0, steps)
    reference_gripper = np.tile([0.6, 0.0, 0.7], (steps, 1, 1))
    gripper = reference_gripper + np.array([0.0, 0.02, 0.0])
    figures = gripper_figures(gripper, reference_gripper, base, np.ones((steps, 1), dtype=bool))
    assert figures['gripper_world_rmse_m'] == pytest.approx(0.02)
    assert figures['base_drift_max_m'] == pytest.approx(0.1 * (steps - 1) * DT)


def test_reference_flight_time_of_the_shipped_clips():
    robot = load_config()
    feet = list(range(len(robot.foot_sites)))
    hop = load_shipped_clip('hop')
    stated = hop.generator['settings']['flight_duration_s']
    assert reference_flight_time(hop, feet, DT) == pytest.approx(stated)
    # The feet estimate, for clips that do not state it, finds most of that flight.
    hop.generator = {}
    estimate = reference_flight_time(hop, feet, DT)
    assert 0.6 * stated < estimate <= stated + DT
    assert reference_flight_time(load_shipped_clip('trot'), feet, DT) == 0.0


def test_net_motion_counts_a_whole_turn():
    steps = 101
    yaw = np.linspace(0.0, 1.5 * math.pi, steps)  # three quarters of a turn in 2 s
    orientation = np.stack([yaw_quaternion(angle) for angle in yaw])
    position = np.zeros((steps, 3))
    position[-1] = [0.0, 1.0, 0.0]  # ended 1 m to the left of the start heading
    figures = net_motion(position, orientation, 2.0)
    assert figures['heading_drift_deg_per_s'] == pytest.approx(135.0)
    assert figures['net_forward_speed_m_s'] == pytest.approx(0.0, abs=1e-12)
    assert figures['net_lateral_speed_m_s'] == pytest.approx(0.5)
