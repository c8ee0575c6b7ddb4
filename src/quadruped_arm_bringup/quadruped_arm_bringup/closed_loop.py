"""
The simulation launch without ROS: the sim bridge's core and the controller's core in one loop.

The same library classes the two ROS nodes wrap (``sim_bridge.bridge.BridgeCore`` around the
MuJoCo ``Simulator``, ``lpn_controller.controller.ControllerCore`` around the numpy policy
runtime), wired as the launch file wires the nodes through topics, and recorded as ``ros2 bag
record --use-sim-time`` would record them:

* every bridge tick (one physics step, the bridge's ``clock_every: physics`` default) goes out
  on ``/clock``; at ``state_rate_hz`` the state goes out on ``/joint_states``, ``/imu`` and
  ``/odom`` and reaches the controller (received at that sim time, as the node's callbacks
  stamp it);
* the controller's timer fires at the control rate on sim time; its targets go out on
  ``/joint_commands`` (and reach the bridge before its next tick: no transport delay), the raw
  policy action on ``/lpn_controller/action``, and at 1 Hz its state on ``/diagnostics``.

Messages carry the fields the nodes fill, stamped with sim time; the topics are those
``record:=true`` records (quadruped_arm_bringup.recording.SIM_TOPICS).
"""

from dataclasses import dataclass, field
import time
from typing import Callable, List, Optional, Tuple

from lpn_controller.bags import BagWriter
from lpn_controller.controller import ControllerConfig, ControllerCore
from lpn_controller.joint_map import JointMap
from lpn_controller.message_fields import monitor_diagnostic, safety_diagnostic
from lpn_controller.policy_format import ExportedPolicy
from lpn_controller.rotations import rotate_into_body, tilt_angle
from lpn_controller.runtime import make_runtime
from lpn_controller.safety import SafetyMode
import numpy as np
from quadruped_arm_bringup.recording import CONTROLLER_ACTION_TOPIC as ACTION_TOPIC
from quadruped_arm_bringup.recording import CONTROLLER_NODE
from sim_bridge.bridge import BridgeCore, BridgeSettings, NODE_PARAMETERS
from sim_bridge.config import load_config
from sim_bridge.physics import warn_if_mismatch
from sim_bridge.simulator import Simulator

JOINT_STATES_TOPIC = '/joint_states'
IMU_TOPIC = '/imu'
ODOM_TOPIC = '/odom'
JOINT_COMMANDS_TOPIC = '/joint_commands'
DIAGNOSTICS_PERIOD_S = 1.0  # the controller node's diagnostics_period_s default
# The bridge node's frame names, from its parameter defaults.
FRAMES = {name: default for name, default, _ in NODE_PARAMETERS if name.endswith('_frame_id')}


@dataclass
class RolloutResult:
    """What happened in one closed-loop run (sim-time seconds, ground truth from the sim)."""

    seconds: float
    wall_s: float
    actions: int = 0
    policy_engaged_s: Optional[float] = None
    final_mode: str = ''
    transitions: List[Tuple[float, str, str]] = field(default_factory=list)
    min_base_height_m: float = np.inf
    max_tilt_deg: float = 0.0
    displacement_m: Tuple[float, float] = (0.0, 0.0)
    messages: int = 0
    # MuJoCo reset the simulation (sim_bridge.instability): the bridge paused, the run stopped.
    instabilities: List[str] = field(default_factory=list)

    @property
    def stayed_up(self) -> bool:
        """Return True when the policy was engaged, never handed over, and the sim held."""
        return (self.policy_engaged_s is not None and not self.instabilities
                and self.final_mode == SafetyMode.POLICY.value)


def _ticks_per(period_s: float, tick_dt: float, what: str) -> int:
    ticks = period_s / tick_dt
    if ticks < 1 or abs(ticks - round(ticks)) > 1e-6:
        raise ValueError(f'{what} period {period_s:g} s is not a whole number of simulator '
                         f'ticks of {tick_dt:g} s')
    return int(round(ticks))


def make_controller(policy: ExportedPolicy, lpn_mode: str = 'table',
                    config: ControllerConfig = ControllerConfig()) -> ControllerCore:
    """Return the controller core the node builds from a policy with its default parameters."""
    metadata = policy.metadata
    if metadata.joint_lower_limits is None or metadata.joint_upper_limits is None:
        raise ValueError(f'policy {policy.source} exports no joint_limits; the controller '
                         'needs them')
    return ControllerCore(make_runtime(policy, lpn_mode=lpn_mode), metadata.joint_lower_limits,
                          metadata.joint_upper_limits, config)


def run_closed_loop(policy: ExportedPolicy, seconds: float, bag: BagWriter, seed: int = 0,
                    settings: BridgeSettings = BridgeSettings(),
                    controller_config: ControllerConfig = ControllerConfig(),
                    on_tick: Optional[Callable[[float, Simulator], None]] = None,
                    robot_config=None, joint_remap: Optional[dict] = None,
                    faults=None) -> RolloutResult:
    """
    Run a robot (the packaged one by default) under ``policy`` for ``seconds``, recording to bag.

    ``robot_config`` is a robot configuration YAML (another model: a sim-to-sim transfer run);
    policy joint names reach its joints through the controller's JointMap, from the config's
    ``joint_map`` updated with ``joint_remap`` ({policy_name: robot_name}).

    ``on_tick(time_s, simulator)``, when given, sees the simulator after every tick (a video
    frame recorder, say); it must not change it.

    ``faults``, when given, injects faults where the nodes would meet them (see
    ``quadruped_arm_bringup.fault_injection.FaultInjector``): ``before_tick(time_s, simulator)``
    may push the robot; ``deliver(time_s, state)`` returns the states the joint-state and IMU
    messages carry, or None for a message that never arrives (the bag records what arrives);
    ``estop(time_s)`` says whether an e-stop arrives now (the node's ``~/estop`` topic);
    ``observe(output)`` sees every control step's result.
    """
    if not seconds > 0:
        raise ValueError(f'the run needs a positive duration, got {seconds} s')
    robot = load_config(robot_config)
    bridge = BridgeCore(Simulator(robot, seed=seed), settings)
    warn_if_mismatch(policy.metadata.physics, bridge.sim.physics)
    controller = make_controller(policy, config=controller_config)
    joint_map = JointMap(policy.metadata.joint_names, {**robot.joint_map, **(joint_remap or {})})
    joint_map.indices_in(bridge.joint_names)  # fails now, naming joints, if they differ
    robot_names = list(joint_map.robot_joint_names)
    policy_names = list(joint_map.policy_joint_names)
    tick_dt = bridge.plan.tick_dt
    control_every = _ticks_per(1.0 / controller.control_rate_hz, tick_dt, 'control')
    diagnostics_every = _ticks_per(DIAGNOSTICS_PERIOD_S, tick_dt, 'diagnostics')
    result = RolloutResult(seconds, 0.0)
    start_position = None
    last_phase = None
    started = time.perf_counter()
    for tick in range(1, int(round(seconds / tick_dt)) + 1):
        if faults is not None:
            faults.before_tick(bridge.sim.time, bridge.sim)
        tick_result = bridge.tick()
        if tick_result is None:   # the bridge paused itself after an unstable step
            break
        if tick_result.instability is not None:
            result.instabilities.append(str(tick_result.instability))
        now = tick_result.time
        bag.write_clock(now)
        if on_tick is not None:
            on_tick(now, bridge.sim)
        if faults is not None and faults.estop(now):
            transition = controller.engage_estop(now, 'topic')
            if transition is not None:
                result.transitions.append((now, transition.mode.value, transition.reason))
        state = tick_result.state
        if state is not None:
            joints, imu = (state, state) if faults is None else faults.deliver(now, state)
            if joints is not None:
                bag.write_joint_state(JOINT_STATES_TOPIC, now, bridge.joint_names,
                                      joints.joint_positions, joints.joint_velocities,
                                      joints.joint_efforts)
                controller.set_joint_state(
                    now, joint_map.to_policy_order(bridge.joint_names, joints.joint_positions),
                    joint_map.to_policy_order(bridge.joint_names, joints.joint_velocities))
            if imu is not None:
                bag.write_imu(IMU_TOPIC, now, imu.imu_orientation, imu.imu_angular_velocity,
                              imu.imu_linear_acceleration, FRAMES['imu_frame_id'])
                controller.set_imu(now, imu.imu_orientation, imu.imu_angular_velocity)
            body_velocity = rotate_into_body(state.base_orientation, state.base_linear_velocity)
            bag.write_odometry(
                ODOM_TOPIC, now, FRAMES['odom_frame_id'], FRAMES['base_frame_id'],
                state.base_position, state.base_orientation, body_velocity,
                state.base_angular_velocity)
            # /odom as the node reads it: the twist, the pose orientation and position.
            controller.set_odometry(now, body_velocity, state.base_orientation,
                                    state.base_position)
            if start_position is None:
                start_position = state.base_position[:2].copy()
            result.min_base_height_m = min(result.min_base_height_m, state.base_position[2])
            result.max_tilt_deg = max(result.max_tilt_deg,
                                      float(np.degrees(tilt_angle(state.base_orientation))))
            result.displacement_m = tuple((state.base_position[:2] - start_position).tolist())
        if tick % control_every == 0:
            output = controller.step(now)
            if faults is not None:
                faults.observe(output)
            last_phase = output.phase
            for transition in output.transitions:
                result.transitions.append((transition.time_s, transition.mode.value,
                                           transition.reason))
                if transition.mode == SafetyMode.POLICY and result.policy_engaged_s is None:
                    result.policy_engaged_s = transition.time_s
            if output.joint_targets is not None:
                bridge.command_by_name(robot_names, output.joint_targets)
                bag.write_joint_state(JOINT_COMMANDS_TOPIC, now, robot_names,
                                      output.joint_targets)
            if output.action is not None:
                bag.write_joint_state(ACTION_TOPIC, now, policy_names, output.action)
                result.actions += 1
        if tick % diagnostics_every == 0:
            safety = controller.safety
            bag.write_diagnostics(now, [
                (f'{CONTROLLER_NODE}: safety', CONTROLLER_NODE, *safety_diagnostic(
                    safety.mode, safety.reason, safety.estop_active,
                    controller.control_rate_hz, last_phase)),
                (f'{CONTROLLER_NODE}: smoothness', CONTROLLER_NODE,
                 *monitor_diagnostic(controller.monitor_report()))])
    result.wall_s = time.perf_counter() - started
    result.final_mode = controller.safety.mode.value
    result.messages = bag.message_count
    return result
