"""
What the robot did in the world, beside the joint-space scores.

A policy can score a fair joint RMSE on a trot while trotting in place, so evaluation also
reports world-frame figures: speed along and across the heading, the root position error to the
reference over time, flight time and apex height per hop cycle, and the gripper's world position
error. Everything here is plain numpy over logged trajectories with a time axis and an
environment axis, (T, N, ...), and a ``living`` mask (T, N). The mask is False from the step an
episode ended, because a fallen (or unstable) environment's later readouts belong to a new
episode.

The reference is in the robot's world frame already. Episodes start from the reference pose at
its own phase (reference state initialisation), so no alignment is needed.
"""

from lpn_controller.rotations import heading_frame, rotate_into_world, yaw_angle
import numpy as np

# A reference foot this far above its standing height is off the ground (for clips that do
# not state their flight time).
REFERENCE_CLEARANCE_M = 0.005


def longest_run(flags):
    """Return the length of the longest run of consecutive True in a 1-D boolean series."""
    edges = np.diff(np.concatenate([[0], np.asarray(flags, dtype=np.int8), [0]]))
    starts, ends = np.flatnonzero(edges == 1), np.flatnonzero(edges == -1)
    return int((ends - starts).max()) if len(starts) else 0


def _mean(values, mask):
    return float(values[mask].mean()) if mask.any() else None


def _rms(values, mask):
    return float(np.sqrt((values[mask] ** 2).mean())) if mask.any() else None


def net_motion(base_position, base_orientation, duration_s):
    """
    Return the net speed along and across the start heading, and the heading drift.

    From a run's base positions (T, 3) and orientations (T, 4), first to last: what a tape
    measure and a compass would give over ``duration_s``. The heading is unwrapped along the
    run, so turns past half a circle count in full.
    """
    yaw = np.unwrap(yaw_angle(base_orientation))
    along, across = heading_frame(np.asarray(base_position[-1]) - base_position[0], yaw[0])
    turned = yaw[-1] - yaw[0]
    return {'net_forward_speed_m_s': float(along / duration_s),
            'net_lateral_speed_m_s': float(across / duration_s),
            'heading_drift_deg_per_s': float(np.degrees(turned) / duration_s)}


def motion_figures(base_position, base_orientation, base_velocity, reference_position,
                   reference_orientation, reference_velocity, living, dt):
    """
    Return the speed and root-tracking figures of N logged episodes.

    Speeds are taken in each step's own heading frame (yaw only: pitching while trotting does
    not leak into them) and averaged over the living steps. The net speed is the displacement
    along and across the start heading over the time survived, as a tape measure would give
    it. The root position error is horizontal, to the reference at the same time.
    """
    living = np.asarray(living, dtype=bool)
    base_position = np.asarray(base_position, dtype=float)
    reference_position = np.asarray(reference_position, dtype=float)
    yaw, reference_yaw = yaw_angle(base_orientation), yaw_angle(reference_orientation)
    forward, lateral = heading_frame(base_velocity, yaw)
    reference_forward, reference_lateral = heading_frame(reference_velocity, reference_yaw)
    horizontal_error = np.linalg.norm(base_position[..., :2] - reference_position[..., :2],
                                      axis=-1)
    height_error = base_position[..., 2] - reference_position[..., 2]

    net = {'net_forward_speed_m_s': [], 'net_lateral_speed_m_s': [],
           'reference_net_forward_speed_m_s': []}
    for n, steps in enumerate(living.sum(axis=0)):
        if steps < 2:
            continue
        duration = (steps - 1) * dt
        robot = net_motion(base_position[:steps, n], base_orientation[:steps, n], duration)
        reference = net_motion(reference_position[:steps, n], reference_orientation[:steps, n],
                               duration)
        net['net_forward_speed_m_s'].append(robot['net_forward_speed_m_s'])
        net['net_lateral_speed_m_s'].append(robot['net_lateral_speed_m_s'])
        net['reference_net_forward_speed_m_s'].append(reference['net_forward_speed_m_s'])
    over_time = []
    for second in range(1, int(living.shape[0] * dt + 1e-9) + 1):
        t = int(round(second / dt)) - 1
        over_time.append({'t_s': float(second), 'episodes': int(living[t].sum()),
                          'mean_m': _mean(horizontal_error[t], living[t])})
    return {
        'forward_speed_m_s': _mean(forward, living),
        'lateral_speed_m_s': _mean(lateral, living),
        'reference_forward_speed_m_s': _mean(reference_forward, living),
        'reference_lateral_speed_m_s': _mean(reference_lateral, living),
        **{key: float(np.mean(values)) if values else None for key, values in net.items()},
        'root_position_error_rms_m': _rms(horizontal_error, living),
        'root_height_error_rms_m': _rms(height_error, living),
        'root_position_error_over_time': over_time,
    }


def hop_figures(airborne, base_height, reference_height, cycle, living, dt, reference_flight_s):
    """
    Return flight time and apex height per hop cycle, against the reference's.

    ``airborne`` (T, N) is True where no foot touches the ground; ``cycle`` (T, N) is the integer
    part of each episode's absolute phase. Only whole cycles of a living episode count: the first
    one starts at a random phase and the last is cut by the episode's end. A cycle has a flight
    when its longest airborne run lasts at least half the reference's flight time; its apex is
    the highest the base got in it.
    """
    airborne, living = np.asarray(airborne, dtype=bool), np.asarray(living, dtype=bool)
    flight, apex, reference_apex = [], [], []
    for n in range(airborne.shape[1]):
        stop = int(living[:, n].sum())  # living is True up to the episode's end
        for k in np.unique(cycle[:stop, n])[1:-1]:
            steps = np.flatnonzero(cycle[:stop, n] == k)
            flight.append(longest_run(airborne[steps, n]) * dt)
            apex.append(float(base_height[steps, n].max()))
            reference_apex.append(float(reference_height[steps, n].max()))
    if not flight:
        return {'cycles': 0, 'reference_flight_time_s': reference_flight_s}
    flight, apex, reference_apex = np.array(flight), np.array(apex), np.array(reference_apex)
    return {
        'cycles': len(flight),
        'flight_time_s': float(flight.mean()),
        'flight_time_min_s': float(flight.min()),
        'reference_flight_time_s': reference_flight_s,
        'cycles_with_flight': float(np.mean(flight >= 0.5 * reference_flight_s)),
        'apex_height_m': float(apex.mean()),
        'reference_apex_height_m': float(reference_apex.mean()),
        'apex_error_max_m': float(np.abs(apex - reference_apex).max()),
    }


def gripper_figures(gripper, reference_gripper, base_position, living):
    """
    Return the gripper's world-frame position error and the base's largest horizontal drift.

    The drift (from where each episode started) tells an arm task done by the arm apart from one
    done by swaying the body.
    """
    living = np.asarray(living, dtype=bool)
    base_position = np.asarray(base_position, dtype=float)
    error = np.linalg.norm(np.asarray(gripper) - np.asarray(reference_gripper), axis=-1)
    drift = np.linalg.norm(base_position[..., :2] - base_position[:1, :, :2], axis=-1)
    return {'gripper_world_rmse_m': _rms(error, living),
            'base_drift_max_m': float(drift[living].max()) if living.any() else None}


def reference_in_world(reference, body_points):
    """Return world positions of body-frame points (..., k, 3) of a reference's root pose."""
    return reference.root_position[..., None, :] + rotate_into_world(
        reference.root_orientation[..., None, :], body_points)


def reference_flight_time(clip, foot_indices, dt):
    """
    Return the reference's flight time per cycle (s); 0 for a clip that never leaves the ground.

    A generator that states its flight time is trusted (the hop generator's feet sit at ground
    level at lift-off and touch-down, so they under-count it); otherwise the longest run of
    frames with every foot above its lowest height by REFERENCE_CLEARANCE_M, sampled every dt.
    """
    stated = clip.generator.get('settings', {}).get('flight_duration_s')
    if stated is not None:
        return float(stated)
    reference = clip.sample(np.arange(0.0, 2.0, dt / clip.phase_period_s))
    feet = reference_in_world(reference, reference.end_effector_positions[:, foot_indices])
    heights = feet[..., 2]
    return longest_run(np.all(heights > heights.min(axis=0) + REFERENCE_CLEARANCE_M, axis=-1)) * dt


class WorldLog:
    """Log what the world figures need from an ImitationEnv's steps, then compute them."""

    def __init__(self, env, steps):
        self.env, self.dt = env, env.control_dt
        robot, n = env.robot, env.num_envs
        names = list(env.end_effector_names)
        self.foot_indices = [names.index(site) for site in robot.foot_sites]
        self.gripper_index = names.index(robot.gripper_site) if robot.gripper_site else None
        first = env.sim.envs[0]
        model = first.model
        foot_bodies = {int(model.site_bodyid[model.site(site).id]) for site in robot.foot_sites}
        self._foot_geoms = np.array([g for g in range(model.ngeom)
                                     if int(model.geom_bodyid[g]) in foot_bodies], dtype=int)
        self.reference_flight_s = reference_flight_time(env.clip, self.foot_indices, self.dt)
        self.arrays = {name: np.zeros((steps, n) + shape) for name, shape in (
            ('base_position', (3,)), ('base_orientation', (4,)), ('base_velocity', (3,)),
            ('reference_position', (3,)), ('reference_orientation', (4,)),
            ('reference_velocity', (3,)), ('gripper', (3,)), ('reference_gripper', (3,)),
            ('airborne', ()), ('cycle', ()), ('living', ()))}

    def record(self, t, state, reference, living):
        """Log step ``t``: the state read after it, the reference at its phase, who lives."""
        log = self.arrays
        log['base_position'][t] = state.base_position
        log['base_orientation'][t] = state.base_orientation
        log['base_velocity'][t] = state.base_linear_velocity
        log['reference_position'][t] = reference.root_position
        log['reference_orientation'][t] = reference.root_orientation
        log['reference_velocity'][t] = reference.root_linear_velocity
        log['cycle'][t] = np.floor(self.env.absolute_phase())
        log['living'][t] = living
        if self.reference_flight_s > 0:
            log['airborne'][t] = [not sim.touches_ground(self._foot_geoms)
                                  for sim in self.env.sim.envs]
        if self.gripper_index is not None:
            site = self.env.end_effector_names[self.gripper_index]
            log['gripper'][t] = [sim.site_positions([site])[0] for sim in self.env.sim.envs]
            log['reference_gripper'][t] = reference_in_world(
                reference, reference.end_effector_positions[:, [self.gripper_index]])[:, 0]

    def figures(self):
        """Return the world-frame figures as a JSON-ready dict."""
        log, living = self.arrays, self.arrays['living'].astype(bool)
        figures = motion_figures(log['base_position'], log['base_orientation'],
                                 log['base_velocity'], log['reference_position'],
                                 log['reference_orientation'], log['reference_velocity'],
                                 living, self.dt)
        if self.reference_flight_s > 0:
            figures['hop'] = hop_figures(log['airborne'], log['base_position'][..., 2],
                                         log['reference_position'][..., 2], log['cycle'],
                                         living, self.dt, self.reference_flight_s)
        if self.gripper_index is not None:
            figures.update(gripper_figures(log['gripper'], log['reference_gripper'],
                                           log['base_position'], living))
        return figures
