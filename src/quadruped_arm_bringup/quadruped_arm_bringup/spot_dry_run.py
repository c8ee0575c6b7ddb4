"""
Dry-run the robot launch against an emulated Spot driver: no robot, no ROS.

    python -m quadruped_arm_bringup.spot_dry_run [--robot-config NAME] [--policy P]
        [--driver-config DIR] [--seconds S] [--spot-name NS] [--mock] [--estop-at T]
        [--stop-at T [--stop-signal SIGINT|SIGTERM|SIGKILL]] --output DIR

The emulator of spot_ros2_control's interface (``spot_emulator``) on the MuJoCo simulator core,
wired to the controller core exactly as ``robot.launch.py robot:=spot_arm`` configures the
controller node: the same parameter files (config/controller.yaml, monitor.yaml), the same
robot profile turned into parameters by ``robot_profile.controller_parameters``, the same
parameters-to-controller code as the node (``lpn_controller.controller_setup``) and the node's
message conversions. The driver-side topics are recorded with the driver's names and types into
``DIR/bag`` (MCAP), with the controller's targets, action and diagnostics; the command prints
what the robot did in the world: whether it stood up and stayed up under the policy, its
forward and lateral speed and heading drift while the policy drove, and the action's HFR.

``--driver-config DIR`` gives the joint gains written by ``spot_driver_config`` (the driver
config file the robot would be started with); without it the emulated robot runs the driver's
default gains, as a robot started without that file does. ``--robot-config
menagerie_spot_arm`` runs on MuJoCo Menagerie's Spot (needs ``MENAGERIE_ROOT``). ``--mock``
emulates the driver's mock hardware (NaN IMU, no odometry): the controller never engages.
``--estop-at T`` engages the controller's e-stop T seconds in: the safe stop the node makes
(``lpn_controller.safe_stop``, the profile's ``safe_stop``) then deactivates the emulated
hardware, which sits the robot down and powers it off. ``--stop-at T [--stop-signal SIG]``
ends the node: SIGINT or SIGTERM as the node handles them (a last damping command, then the
hardware deactivated), SIGKILL with nothing, the driver streaming the last target on.
"""

import argparse
from dataclasses import dataclass, field
from pathlib import Path
import sys
import time
from typing import List, Optional, Tuple

from lpn_controller.bags import BagError, BagWriter
from lpn_controller.controller_setup import build_controller, safe_stop_config
from lpn_controller.message_fields import monitor_diagnostic, safety_diagnostic
from lpn_controller.metrics import high_frequency_ratio
from lpn_controller.policy_format import load_policy
from lpn_controller.policy_metadata import PolicyFormatError
from lpn_controller.rotations import tilt_angle
from lpn_controller.safe_stop import SafeStopPlanner
from lpn_controller.safety import SafetyMode
import numpy as np
from quadruped_arm_bringup.demo import policies_dir
from quadruped_arm_bringup.recording import CONTROLLER_ACTION_TOPIC, controller_topic
from quadruped_arm_bringup.robot_profile import (controller_parameters, load_robot_profile,
                                                 RobotProfileError)
from quadruped_arm_bringup.spot_driver_config import (default_profile_path, DriverConfigError,
                                                      read_driver_gains)
from quadruped_arm_bringup.spot_emulator import (
    BODY_FRAME, COMMANDS, IMU, IMU_FRAME, JOINT_STATES, ODOM_FRAME, ODOMETRY,
    PHYSICS_RATE_HZ, SpotDriverEmulator)
from sim_bridge.config import ConfigError, load_config, robot_config_path
from smooth_policy_trainer.evaluation.world_figures import net_motion
import yaml

DEFAULT_POLICY = 'lpn_trot_arm_wave'
DEFAULT_SECONDS = 20.0
DIAGNOSTICS_EVERY_S = 1.0
FALLEN_HEIGHT_M = 0.25   # the base below this while the policy drives: the robot is down


def node_parameters(profile, metadata, policy_path, namespace='') -> dict:
    """Return the controller node's parameters as robot.launch.py sets them."""
    config = default_profile_path().parents[1]
    parameters = {}
    for name in ('controller.yaml', 'monitor.yaml'):
        document = yaml.safe_load((config / name).read_text())
        parameters.update(document['lpn_controller']['ros__parameters'])
    parameters.update(controller_parameters(profile, metadata, namespace))
    parameters.update(policy_path=str(policy_path), use_sim_time=False)
    return parameters


@dataclass
class DryRunResult:
    """What happened: controller transitions, the world figures, the driver's complaints."""

    seconds: float
    wall_s: float = 0.0
    transitions: List[Tuple[float, str, str]] = field(default_factory=list)
    policy_engaged_s: Optional[float] = None
    final_mode: str = ''
    final_reason: str = ''
    height_at_activation_m: float = 0.0
    height_at_engagement_m: Optional[float] = None
    min_height_under_policy_m: float = np.inf
    max_tilt_under_policy_deg: float = 0.0
    motion: dict = field(default_factory=dict)
    hfr: Optional[float] = None
    commands_sent: int = 0
    commands_dropped: int = 0
    driver_errors: List[Tuple[float, str]] = field(default_factory=list)
    messages: int = 0
    final_height_m: float = 0.0
    unconnected: List[str] = field(default_factory=list)
    max_tilt_after_stop_deg: Optional[float] = None

    @property
    def stayed_up(self) -> bool:
        """Return True when the policy engaged, kept driving, and the base stayed high."""
        return (self.policy_engaged_s is not None and self.final_mode == SafetyMode.POLICY.value
                and self.min_height_under_policy_m > FALLEN_HEIGHT_M)


def run_dry(policy, profile, seconds, bag: BagWriter, robot_config=None, gains=None,
            namespace='', mode='robot', seed=0, estop_at_s=None,
            stop: Optional[Tuple[float, str]] = None, start_yaw_rad=0.0) -> DryRunResult:
    """
    Run the emulated driver and the controller together for ``seconds``; record to ``bag``.

    ``stop`` (time, signal) ends the controller node then: SIGINT or SIGTERM as the node's
    safe_shutdown does (e-stop, a last damping command, the hardware deactivated), SIGKILL with
    nothing (the driver keeps the last target).
    """
    parameters = node_parameters(profile, policy.metadata, policy.source, namespace)
    setup = build_controller(policy, parameters.get)
    safe_stop = SafeStopPlanner(safe_stop_config(parameters.get))
    core, joint_map, layout = setup.core, setup.joint_map, setup.command_layout
    driver = SpotDriverEmulator(robot_config, namespace, mode, gains, seed, start_yaw_rad)
    names = list(driver.joint_names)
    topic = {key: driver.topic(key) for key in (JOINT_STATES, IMU, ODOMETRY, COMMANDS)}
    targets_topic = controller_topic(parameters['joint_targets_topic'])
    # Only what the node would subscribe or publish to reaches the other side.
    listens = {JOINT_STATES: parameters['joint_states_topic'], IMU: parameters['imu_topic'],
               ODOMETRY: parameters['odom_topic'] if core.reads_odometry else '',
               COMMANDS: parameters['float64_array_topic'] if parameters['use_float64_array']
               else ''}
    wired = {key: listens[key] == topic[key] for key in listens}
    control_every = int(round(PHYSICS_RATE_HZ / core.control_rate_hz))
    diagnostics_every = int(round(PHYSICS_RATE_HZ * DIAGNOSTICS_EVERY_S))
    result = DryRunResult(seconds)
    result.unconnected = [f'the controller uses {listens[key] or "no topic"} where the driver '
                          f'has {topic[key]}' for key in listens
                          if not wired[key] and (key != ODOMETRY or listens[key])]
    poses, actions = [], []
    last_phase, start = None, time.perf_counter()
    start_time = driver.sim.time
    node_alive = True
    result.max_tilt_after_stop_deg = None
    for step in range(1, int(round(seconds * PHYSICS_RATE_HZ)) + 1):
        output = driver.step()
        now = output.time
        stopping = node_alive and stop is not None and now - start_time >= stop[0]
        if output.joint_state is not None:
            positions, velocities, efforts = output.joint_state
            bag.write_joint_state(topic[JOINT_STATES], now, names, positions, velocities,
                                  efforts)
            # The node's conversion (node.py _on_joint_state).
            if wired[JOINT_STATES]:
                core.set_joint_state(now, joint_map.to_policy_order(names, positions),
                                     joint_map.to_policy_order(names, velocities))
                core.set_held_joint_positions(layout.held_positions(names, positions))
        if output.imu is not None:
            orientation, rates, acceleration = output.imu
            bag.write_imu(topic[IMU], now, orientation, rates, acceleration,
                          driver.frame(IMU_FRAME))
            if wired[IMU]:
                core.set_imu(now, orientation, rates)
        if output.odometry is not None:
            position, orientation, linear, angular = output.odometry
            bag.write_odometry(topic[ODOMETRY], now, driver.frame(ODOM_FRAME),
                               driver.frame(BODY_FRAME), position, orientation, linear, angular)
            if wired[ODOMETRY]:   # node._on_odometry: the twist and the pose
                core.set_odometry(now, linear, orientation, position)
        if output.base_pose is not None:
            if step <= 3:
                result.height_at_activation_m = float(output.base_pose[0][2])
            if core.safety.mode == SafetyMode.POLICY and node_alive:
                poses.append(np.concatenate(output.base_pose))
            elif not node_alive:
                result.max_tilt_after_stop_deg = max(
                    result.max_tilt_after_stop_deg,
                    float(np.degrees(tilt_angle(output.base_pose[1]))))
        if estop_at_s is not None and now - start_time >= estop_at_s \
                and not core.safety.estop_active:
            transition = core.engage_estop(now, 'dry run')   # the node's ~/estop
            if transition is not None:
                result.transitions.append((now - start_time, transition.mode.value,
                                           transition.reason))
        if stopping:
            node_alive = False
            result.max_tilt_after_stop_deg = 0.0
            result.transitions.append((now - start_time, 'node stopped', stop[1]))
            if stop[1] != 'SIGKILL':   # the node's safe_shutdown
                core.engage_estop(now, stop[1])
        if (step % control_every == 0 and node_alive) or (stopping and stop[1] != 'SIGKILL'):
            control = core.step(now)
            safety = core.safety
            request = (safe_stop.after_step(now, safety.mode, safety.mode_start_s,
                                            safety.reason, safety.estop_active)
                       if node_alive else safe_stop.at_shutdown(stop[1]))
            if request is not None:   # the node's set_hardware_component_state call
                ok = driver.set_hardware_state(request.component, request.state_label)
                safe_stop.done(ok)
                result.transitions.append((now - start_time, 'hardware ' + request.state_label,
                                           f'{request.reason} (deactivated: {ok})'))
            last_phase = control.phase
            for transition in control.transitions:
                result.transitions.append((transition.time_s - start_time,
                                           transition.mode.value, transition.reason))
                if transition.mode == SafetyMode.POLICY and result.policy_engaged_s is None:
                    result.policy_engaged_s = transition.time_s - start_time
                    result.height_at_engagement_m = float(driver.sim.read_state()
                                                          .base_position[2])
            if control.joint_targets is not None:
                bag.write_joint_state(targets_topic, now, joint_map.robot_joint_names,
                                      control.joint_targets)
                if control.held_targets is not None:
                    array = layout.assemble(control.joint_targets, control.held_targets)
                    if wired[COMMANDS]:
                        bag.write_float64_array(topic[COMMANDS], now, array)
                        driver.command(array)
                        result.commands_sent += 1
            if control.action is not None:
                bag.write_joint_state(CONTROLLER_ACTION_TOPIC, now,
                                      joint_map.policy_joint_names, control.action)
                actions.append(policy.metadata.action_scale * control.action)
        if step % diagnostics_every == 0 and node_alive:
            safety = core.safety
            bag.write_diagnostics(now, [
                ('lpn_controller: safety', 'lpn_controller', *safety_diagnostic(
                    safety.mode, safety.reason, safety.estop_active, core.control_rate_hz,
                    last_phase)),
                ('lpn_controller: smoothness', 'lpn_controller',
                 *monitor_diagnostic(core.monitor_report()))])
    result.wall_s = time.perf_counter() - start
    result.final_mode, result.final_reason = core.safety.mode.value, core.safety.reason
    if not node_alive:
        result.final_mode = f'node stopped by {stop[1]}, last mode {result.final_mode}'
    result.commands_dropped = driver.commands_dropped
    result.driver_errors = [(time_s - start_time, text) for time_s, text in driver.errors]
    result.messages = bag.message_count
    result.final_height_m = float(driver.sim.read_state().base_position[2])
    if len(poses) >= 2:
        poses = np.array(poses)
        result.min_height_under_policy_m = float(poses[:, 2].min())
        result.max_tilt_under_policy_deg = float(np.degrees(tilt_angle(poses[:, 3:7])).max())
        result.motion = net_motion(poses[:, :3], poses[:, 3:7],
                                   len(poses) / (PHYSICS_RATE_HZ / 3.0))
    if len(actions) >= 16:
        result.hfr = high_frequency_ratio(np.array(actions), core.control_rate_hz).value
    return result


def report(result: DryRunResult, gains_source: str) -> str:
    """Return the dry run's figures as printed lines."""
    lines = [f'joint gains: {gains_source}']
    lines += [f'NOT CONNECTED: {text}' for text in result.unconnected]
    for time_s, mode, reason in result.transitions:
        lines.append(f'  {time_s:6.2f} s -> {mode}: {reason}')
    up = 'yes' if result.stayed_up else 'no'
    lines.append(f'stayed up under the policy: {up} (final mode {result.final_mode}: '
                 f'{result.final_reason})')
    engaged = (f'{result.height_at_engagement_m:.3f} m at policy engagement'
               if result.height_at_engagement_m is not None else 'the policy never engaged')
    lines.append(f'base height: {result.height_at_activation_m:.3f} m at activation '
                 f'(first-read pose), {engaged}')
    if result.motion:
        lines.append(f"under the policy: forward {result.motion['net_forward_speed_m_s']:+.3f} "
                     f"m/s, lateral {result.motion['net_lateral_speed_m_s']:+.3f} m/s, heading "
                     f"drift {result.motion['heading_drift_deg_per_s']:+.2f} deg/s, lowest base "
                     f'{result.min_height_under_policy_m:.3f} m, max tilt '
                     f'{result.max_tilt_under_policy_deg:.1f} deg')
    if result.hfr is not None:
        lines.append(f'action HFR (above 10 Hz): {result.hfr:.4f}')
    lines.append(f'base height at the end: {result.final_height_m:.3f} m')
    if result.max_tilt_after_stop_deg is not None:
        lines.append(f'after the node stopped: max tilt {result.max_tilt_after_stop_deg:.1f} deg')
    lines.append(f'{result.commands_sent} commands sent, {result.commands_dropped} dropped by '
                 f'the driver; {result.messages} messages recorded '
                 f'({result.wall_s:.1f} s wall for {result.seconds:g} s)')
    for time_s, text in result.driver_errors[:5]:
        lines.append(f'  driver error at {time_s:.2f} s: {text}')
    return '\n'.join(lines)


def main(argv=None) -> int:
    """Run the dry run; exit code 0 when it ran, 2 on a problem with the inputs."""
    parser = argparse.ArgumentParser(prog='spot_dry_run',
                                     description=__doc__.strip().splitlines()[0])
    parser.add_argument('--robot-config', default='',
                        help='simulated robot: empty for the packaged one, a name shipped '
                             'with sim_bridge (menagerie_spot_arm) or a robot YAML')
    parser.add_argument('--policy', default=None,
                        help=f'exported policy (default: the shipped {DEFAULT_POLICY})')
    parser.add_argument('--driver-config', default=None,
                        help="spot_driver_config's output folder or a driver config file; "
                             "default: the driver's own default gains")
    parser.add_argument('--robot-profile', default=None,
                        help='robot profile YAML (default: the packaged spot_arm)')
    parser.add_argument('--spot-name', default='', help="the driver's namespace")
    parser.add_argument('--mock', action='store_true',
                        help="emulate the driver's mock hardware (NaN IMU, no odometry)")
    parser.add_argument('--estop-at', type=float, default=None, metavar='T',
                        help="engage the controller's e-stop T seconds in (safe stop)")
    parser.add_argument('--stop-at', type=float, default=None, metavar='T',
                        help='end the controller node T seconds in (see --stop-signal)')
    parser.add_argument('--stop-signal', default='SIGINT', choices=('SIGINT', 'SIGTERM',
                                                                    'SIGKILL'))
    parser.add_argument('--start-yaw', type=float, default=0.0, metavar='DEG',
                        help='heading the robot lies at in the odom frame (degrees)')
    parser.add_argument('--seconds', type=float, default=DEFAULT_SECONDS)
    parser.add_argument('--seed', type=int, default=0)
    parser.add_argument('--output', required=True, help='folder for the bag (DIR/bag)')
    args = parser.parse_args(argv)
    if not args.seconds > 0:
        parser.error('--seconds must be positive')
    try:
        policy = load_policy(args.policy or policies_dir() / DEFAULT_POLICY)
        profile = load_robot_profile(args.robot_profile or default_profile_path())
        robot_config = robot_config_path(args.robot_config) if args.robot_config else None
        load_config(robot_config)   # a missing model fails before the bag is created
        gains, gains_source = None, "the driver's defaults (no driver config given)"
        if args.driver_config:
            gains = read_driver_gains(args.driver_config)
            gains_source = f'driver config {args.driver_config}'
        output = Path(args.output)
        output.mkdir(parents=True, exist_ok=True)
        with BagWriter(output / 'bag') as bag:
            result = run_dry(policy, profile, args.seconds, bag, robot_config, gains,
                             args.spot_name, 'mock' if args.mock else 'robot', args.seed,
                             args.estop_at,
                             None if args.stop_at is None else (args.stop_at, args.stop_signal),
                             np.radians(args.start_yaw))
    except (BagError, ConfigError, DriverConfigError, PolicyFormatError, RobotProfileError,
            ValueError) as error:
        print(f'spot_dry_run: {error}', file=sys.stderr)
        return 2
    print(report(result, gains_source))
    print(f'bag: {output / "bag"}')
    return 0


if __name__ == '__main__':
    sys.exit(main())
