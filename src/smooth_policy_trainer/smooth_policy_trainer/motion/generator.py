"""
Generate the shipped motion clips with inverse kinematics on the robot model.

    python -m smooth_policy_trainer.motion.generator [--output DIR] [--clips trot hop ...]

Each motion is first written as targets (cheap, no IK): a root trajectory, world positions for
the foot sites (and the gripper site for arm_circle), scripted angles for joints without a
target. Damped least-squares IK on the MuJoCo model (clip_kinematics) then finds the joint angles
frame by frame, warm-started from the previous frame; the cycle is solved twice so the second
pass starts from the end of the first and the loop closes. Every clip loops, at the
configuration's control rate. The same version writes the same bytes.

Motions (all with the root heading along +x and level):
* trot: diagonal pairs (front-left with rear-right) alternate; stance feet stay put in the world
  while the root moves at a constant speed; swing feet follow a minimum-jerk step and a smooth
  lift, so foot velocities are continuous at touchdown and lift-off. Arm stowed (keyframe).
* trot_arm_wave: the same legs over two gait cycles while the raised arm yaws and the wrist
  swings once per two gait cycles.
* hop: in place. Hold a crouch, push off (quintic to the lift-off height and speed, ending at
  -g so the feet unload smoothly), ballistic flight with the feet lifted clear of the floor,
  land with the mirror of the push, back to the crouch.
* arm_circle: standing on the keyframe legs, the gripper traces a circle in a vertical plane
  across the front of the body; the redundant arm directions pull towards an unfolded pose.
"""

import argparse
from dataclasses import dataclass
from pathlib import Path
import sys

from lpn_controller.curves import minimum_jerk
import numpy as np
from smooth_policy_trainer.motion.clip_files import save_clip, SHIPPED_CLIP_DIR
from smooth_policy_trainer.motion.clips import MotionClip
from smooth_policy_trainer.motion.kinematics import RobotKinematics

GENERATOR_VERSION = 1
CLIP_NAMES = ('trot', 'trot_arm_wave', 'hop', 'arm_circle')
GRAVITY = 9.81
LEVEL = np.array([1.0, 0.0, 0.0, 0.0])
# Thresholds of the kinematic checks the CLI and the tests apply (metres, rad, rad/s).
CHECK_LIMITS = {
    'ik_residual_max_m': ('<=', 0.005),
    'stance_foot_height_error_max_m': ('<=', 0.003),
    'foot_height_min_m': ('>=', -0.001),
    'floor_clearance_min_m': ('>=', -0.001),
    'self_clearance_min_m': ('>=', 0.0),
    'joint_limit_margin_min_rad': ('>=', 0.0),
    'joint_speed_max_rad_s': ('<=', 15.0),
    'joint_acceleration_max_rad_s2': ('<=', 500.0),  # a 0.5 rad jump in one frame is 1250
}
# Arm poses by joint name (rad); joints not named keep their keyframe angle.
RAISED_ARM = {'arm_sh1': -1.35, 'arm_el0': 1.0, 'arm_wr0': 0.2}
UNFOLDED_ARM = {'arm_sh1': -1.5, 'arm_el0': 2.1, 'arm_wr0': -0.6}


@dataclass
class MotionTargets:
    """What the IK must achieve, frame by frame, before any joint angle is known."""

    name: str
    description: str
    period_s: float
    settings: dict
    root_position: np.ndarray     # (T, 3) world
    root_orientation: np.ndarray  # (T, 4) [w, x, y, z]
    root_displacement: np.ndarray  # (3,) per cycle
    joint_seed: np.ndarray        # (T, n): angles of joints without targets; IK start
    site_targets: dict            # site name -> (T, 3) world positions
    stance: np.ndarray            # (T, feet) bool: the foot is on the floor
    nominal: np.ndarray = None    # (n,) pose the redundant directions pull towards
    null_space_gain: float = 0.0


def bump(s):
    """0 -> 1 -> 0 on s in [0, 1] (peak at 1/2), zero velocity and acceleration at the ends."""
    return 64.0 * s ** 3 * (1.0 - s) ** 3


def quintic(start, end, duration):
    """Coefficients (lowest first) of the quintic matching (position, velocity, acceleration)."""
    t = duration
    matrix = np.array([[1, 0, 0, 0, 0, 0], [0, 1, 0, 0, 0, 0], [0, 0, 2, 0, 0, 0],
                       [1, t, t ** 2, t ** 3, t ** 4, t ** 5],
                       [0, 1, 2 * t, 3 * t ** 2, 4 * t ** 3, 5 * t ** 4],
                       [0, 0, 2, 6 * t, 12 * t ** 2, 20 * t ** 3]], dtype=float)
    return np.linalg.solve(matrix, np.concatenate([start, end]))


class _Robot:
    """The keyframe facts every motion starts from."""

    def __init__(self, kinematics):
        self.kin = kinematics
        config = kinematics.config
        self.feet = tuple(config.foot_sites)
        self.gripper = config.gripper_site
        self.stand = kinematics.keyframe_joint_positions()
        self.rate = config.control_rate_hz
        # Foot placement in the body frame at the keyframe (x, y are reused; z is derived).
        self.foot_offsets = kinematics.body_frame_site_positions(self.stand[None], self.feet)[0]
        self.foot_ground = np.array([kinematics.ground_height_of_site(f) for f in self.feet])
        self.names = config.joint_names

    def times(self, period):
        frames = period * self.rate
        if abs(frames - round(frames)) > 1e-9:
            raise ValueError(f'period {period} s is not a whole number of frames at '
                             f'{self.rate} Hz')
        return np.arange(int(round(frames))) / self.rate

    def pose(self, angles):
        joints = self.stand.copy()
        for name, value in angles.items():
            joints[self.names.index(name)] = value
        return joints

    def level_root(self, x, height):
        count = len(x)
        position = np.stack([x, np.zeros(count), np.full(count, height)], axis=1)
        return position, np.tile(LEVEL, (count, 1))


def _trot_feet(robot, times, speed, period, duty, swing_height):
    """World foot targets and stance flags for a trot at constant speed along +x."""
    targets = np.empty((len(times), len(robot.feet), 3))
    stance = np.empty((len(times), len(robot.feet)), dtype=bool)
    for leg, (offset, ground) in enumerate(zip(robot.foot_offsets, robot.foot_ground)):
        # Diagonal pairs: front-left with rear-right (x y > 0), front-right with rear-left.
        phase = (times / period + (0.0 if offset[0] * offset[1] > 0 else 0.5)) % 1.0
        cycle_start = times - phase * period
        stance_x = speed * (cycle_start + duty * period / 2) + offset[0]
        swing = np.clip((phase - duty) / (1.0 - duty), 0.0, 1.0)
        targets[:, leg, 0] = stance_x + speed * period * minimum_jerk(swing)
        targets[:, leg, 1] = offset[1]
        targets[:, leg, 2] = ground + swing_height * bump(swing)
        stance[:, leg] = phase < duty
    return targets, stance


def trot_targets(robot, wave=False):
    """Trot forward (arm stowed), or with the raised arm waving (``wave``)."""
    settings = {'speed_m_s': 0.5, 'gait_period_s': 0.6, 'duty_factor': 0.6,
                'swing_height_m': 0.08, 'base_height_m': 0.475}
    cycles = 1
    joints = robot.stand
    if wave:
        cycles = 2
        settings.update({'arm_pose': dict(RAISED_ARM), 'wave_gait_cycles': cycles,
                         'arm_sh0_amplitude_rad': 0.6, 'arm_wr0_amplitude_rad': 0.5})
        joints = robot.pose(RAISED_ARM)
    period = settings['gait_period_s'] * cycles
    times = robot.times(period)
    feet, stance = _trot_feet(robot, times, settings['speed_m_s'], settings['gait_period_s'],
                              settings['duty_factor'], settings['swing_height_m'])
    seed = np.tile(joints, (len(times), 1))
    if wave:
        angle = 2 * np.pi * times / period
        seed[:, robot.names.index('arm_sh0')] += settings['arm_sh0_amplitude_rad'] * np.sin(angle)
        seed[:, robot.names.index('arm_wr0')] += settings['arm_wr0_amplitude_rad'] * np.cos(angle)
    position, orientation = robot.level_root(settings['speed_m_s'] * times,
                                             settings['base_height_m'])
    name = 'trot_arm_wave' if wave else 'trot'
    description = ('Trot forward at 0.5 m/s; the raised arm yaws and the wrist swings over two '
                   'gait cycles.' if wave else 'Trot forward at 0.5 m/s with the arm stowed.')
    return MotionTargets(
        name, description, period, settings, position, orientation,
        np.array([settings['speed_m_s'] * period, 0.0, 0.0]), seed,
        dict(zip(robot.feet, np.moveaxis(feet, 1, 0))), stance)


def hop_targets(robot):
    """Hop in place on all four legs with a flight phase."""
    settings = {'period_s': 0.8, 'crouch_height_m': 0.40, 'lift_off_height_m': 0.50,
                'flight_height_m': 0.06, 'push_duration_s': 0.18, 'foot_lift_m': 0.04}
    period, push = settings['period_s'], settings['push_duration_s']
    low, high = settings['crouch_height_m'], settings['lift_off_height_m']
    lift_off_speed = np.sqrt(2 * GRAVITY * settings['flight_height_m'])
    flight = 2 * lift_off_speed / GRAVITY
    hold = period - flight - 2 * push
    if hold < 0:
        raise ValueError('hop: the period is shorter than push, flight and landing')
    times = robot.times(period)
    # Phase 0 is the middle of the crouch; then push, flight, landing (the push mirrored).
    push_curve = quintic([low, 0, 0], [high, lift_off_speed, -GRAVITY], push)
    t = (times - hold / 2) % period
    height = np.full(len(times), low)
    pushing = t < push
    height[pushing] = np.polynomial.polynomial.polyval(t[pushing], push_curve)
    flying = (t >= push) & (t < push + flight)
    airborne = t[flying] - push
    height[flying] = high + lift_off_speed * airborne - GRAVITY * airborne ** 2 / 2
    landing = (t >= push + flight) & (t < 2 * push + flight)
    height[landing] = np.polynomial.polynomial.polyval(2 * push + flight - t[landing],
                                                       push_curve)
    lift = np.zeros(len(times))
    lift[flying] = settings['foot_lift_m'] * np.sin(np.pi * airborne / flight) ** 2
    position, orientation = robot.level_root(np.zeros(len(times)), 0.0)
    position[:, 2] = height
    targets = {foot: np.stack([np.full(len(times), offset[0]), np.full(len(times), offset[1]),
                               ground + lift], axis=1)
               for foot, offset, ground in zip(robot.feet, robot.foot_offsets, robot.foot_ground)}
    settings.update({'lift_off_speed_m_s': float(lift_off_speed), 'flight_duration_s':
                     float(flight), 'crouch_hold_s': float(hold)})
    return MotionTargets(
        'hop', 'Hop in place: crouch, push off on all four legs, about 6 cm of flight, land.',
        period, settings, position, orientation, np.zeros(3),
        np.tile(robot.stand, (len(times), 1)), targets,
        np.tile(~flying[:, None], (1, len(robot.feet))))


def arm_circle_targets(robot):
    """Stand still on the keyframe legs while the gripper traces a vertical circle."""
    settings = {'period_s': 3.0, 'radius_m': 0.12, 'arm_pose': dict(UNFOLDED_ARM),
                'null_space_gain': 0.2}
    times = robot.times(settings['period_s'])
    # The root height that puts the keyframe legs' feet exactly on the floor.
    height = float(np.mean(robot.foot_ground - robot.foot_offsets[:, 2]))
    position, orientation = robot.level_root(np.zeros(len(times)), height)
    nominal = robot.pose(UNFOLDED_ARM)
    robot.kin.set_pose(position[0], LEVEL, nominal)
    centre = robot.kin.site_positions([robot.gripper])[0]
    angle = 2 * np.pi * times / settings['period_s']
    circle = centre + settings['radius_m'] * np.stack(
        [np.zeros(len(times)), np.sin(angle), -np.cos(angle)], axis=1)
    targets = {foot: np.tile([offset[0], offset[1], ground], (len(times), 1))
               for foot, offset, ground in zip(robot.feet, robot.foot_offsets, robot.foot_ground)}
    targets[robot.gripper] = circle
    settings['circle_centre_body_m'] = [float(v) for v in np.round(centre - position[0], 6)]
    return MotionTargets(
        'arm_circle', 'Stand still while the gripper traces a 0.12 m circle in a vertical plane '
        'in front of the body every 3 s.', settings['period_s'], settings, position, orientation,
        np.zeros(3), np.tile(nominal, (len(times), 1)), targets,
        np.ones((len(times), len(robot.feet)), dtype=bool), nominal,
        settings['null_space_gain'])


def motion_targets(name, kinematics=None):
    """Return the targets of a named motion (one of CLIP_NAMES); cheap, no IK."""
    robot = _Robot(kinematics if kinematics is not None else RobotKinematics())
    builders = {'trot': trot_targets, 'trot_arm_wave': lambda r: trot_targets(r, wave=True),
                'hop': hop_targets, 'arm_circle': arm_circle_targets}
    if name not in builders:
        raise ValueError(f"unknown motion '{name}'; known motions are {list(CLIP_NAMES)}")
    return builders[name](robot)


def solve_joints(targets, kinematics):
    """Return joint angles (T, n) reaching the targets and each frame's IK residual (m)."""
    seed = targets.joint_seed
    joints = seed[0].copy()
    solved = np.empty_like(seed)
    residuals = np.empty(len(seed))
    active = np.any([kinematics.joints_moving_site(n) for n in targets.site_targets], axis=0)
    for _ in range(2):  # the second pass starts where the cycle ends, so the loop closes
        for k in range(len(seed)):
            start = seed[k].copy()
            start[active] = joints[active]
            joints, residuals[k] = kinematics.solve_ik(
                targets.root_position[k], targets.root_orientation[k], start,
                {name: path[k] for name, path in targets.site_targets.items()},
                targets.nominal, targets.null_space_gain)
            solved[k] = joints
    return solved, residuals


def generate_clip(name, kinematics=None):
    """Build the named clip (IK over one cycle); returns the MotionClip and its targets."""
    kinematics = kinematics if kinematics is not None else RobotKinematics()
    targets = motion_targets(name, kinematics)
    joints, _ = solve_joints(targets, kinematics)
    # Rounding keeps the files small and the bytes stable across platforms' last-bit noise.
    clip = MotionClip(
        name=targets.name, frame_rate_hz=kinematics.config.control_rate_hz, loop=True,
        joint_names=kinematics.config.joint_names,
        root_position=np.round(targets.root_position, 6),
        root_orientation=np.round(targets.root_orientation, 9),
        joint_positions=np.round(joints, 6),
        root_displacement_per_cycle=np.round(targets.root_displacement, 6),
        description=targets.description,
        # The module's name when the shipped clips were made (now motion/generator.py): kept, so
        # that they regenerate byte for byte.
        generator={'module': 'smooth_policy_trainer.clip_generator', 'version': GENERATOR_VERSION,
                   'settings': targets.settings})
    return clip.attach_end_effectors(kinematics.model, kinematics.config), targets


def clip_checks(clip, targets, kinematics):
    """Kinematic figures of a clip against its targets (see CHECK_LIMITS for the bounds)."""
    kin = kinematics
    feet = tuple(kin.config.foot_sites)
    ground = np.array([kin.ground_height_of_site(f) for f in feet])
    names = list(targets.site_targets)
    reached = np.empty((clip.frame_count, len(names), 3))
    for k in range(clip.frame_count):
        kin.set_pose(clip.root_position[k], clip.root_orientation[k], clip.joint_positions[k])
        reached[k] = kin.site_positions(names)
    goal = np.stack([targets.site_targets[n] for n in names], axis=1)
    foot_height = reached[:, [names.index(f) for f in feet], 2] - ground
    self_gap, floor_gap = kin.clearances(clip.root_position, clip.root_orientation,
                                         clip.joint_positions)
    limits = kin.joint_limits
    margin = np.minimum(clip.joint_positions - limits[:, 0], limits[:, 1] - clip.joint_positions)
    period = clip.phase_period_s
    return {
        'ik_residual_max_m': float(np.max(np.linalg.norm(reached - goal, axis=2))),
        'stance_foot_height_error_max_m': float(np.max(np.abs(foot_height[targets.stance]))),
        'foot_height_min_m': float(np.min(foot_height)),
        'floor_clearance_min_m': float(np.min(floor_gap)),
        'self_clearance_min_m': float(np.min(self_gap)),
        'joint_limit_margin_min_rad': float(np.min(margin)),
        'joint_speed_max_rad_s': float(np.max(np.abs(clip.joint_velocities))),
        'joint_acceleration_max_rad_s2': float(np.max(np.abs(np.diff(
            clip.joint_velocities, axis=0, append=clip.joint_velocities[:1])) / clip.dt)),
        'forward_speed_mean_m_s': float(clip.root_displacement_per_cycle[0] / period),
        'root_height_range_m': [float(np.min(clip.root_position[:, 2])),
                                float(np.max(clip.root_position[:, 2]))],
        'flight_frames': int(np.sum(np.all(foot_height > 0.005, axis=1))),
        'period_s': period,
    }


def failed_checks(figures):
    """Return the CHECK_LIMITS a clip's figures violate, with the offending values."""
    failed = []
    for key, (relation, bound) in CHECK_LIMITS.items():
        value = figures[key]
        if (relation == '<=' and value > bound) or (relation == '>=' and value < bound):
            failed.append(f'{key}={value:.4g} (must be {relation} {bound})')
    return failed


def main(argv=None):
    """Write the clips and print their check figures; exit 1 if a check fails."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--output', type=Path, default=SHIPPED_CLIP_DIR,
                        help='folder for <name>.yaml and <name>.npz (default: the shipped clips)')
    parser.add_argument('--clips', nargs='+', choices=CLIP_NAMES, default=list(CLIP_NAMES))
    args = parser.parse_args(argv)
    kinematics = RobotKinematics()
    failures = 0
    for name in args.clips:
        clip, targets = generate_clip(name, kinematics)
        figures = clip_checks(clip, targets, kinematics)
        paths = save_clip(clip, args.output)
        size = sum(path.stat().st_size for path in paths)
        print(f'{name}: {clip.frame_count} frames, {clip.phase_period_s:g} s, {size} bytes -> '
              f'{paths[1]}')
        for key, value in figures.items():
            text = f'{value:.4g}' if isinstance(value, float) else str(value)
            print(f'    {key:32s} {text}')
        for failure in failed_checks(figures):
            failures += 1
            print(f'    CHECK FAILED: {failure}')
    return 1 if failures else 0


if __name__ == '__main__':
    sys.exit(main())
