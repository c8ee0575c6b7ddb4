"""
Faults injected into the no-ROS closed loop, and how the controller met each one.

One :class:`Fault` per run of :func:`quadruped_arm_bringup.closed_loop.run_closed_loop` (the
bridge core and the controller core wired as the nodes are), through a :class:`FaultInjector`:

* ``joint_states_stop``: no /joint_states message arrives from ``start_s`` on (driver died);
* ``imu_freeze``: /imu keeps arriving but repeats the last reading before ``start_s`` (a driver
  republishing its last sample);
* ``joint_state_nan``: /joint_states carries NaN for one joint from ``start_s`` on (a failed
  encoder);
* ``joint_state_nan_once``: only the first /joint_states message from ``start_s`` carries it
  (one corrupt message: the next clean one may replace it before a control step reads it);
* ``estop``: an e-stop arrives on the controller's ``~/estop`` topic at ``start_s``;
* ``push``: an external force of ``force_n`` newtons on the base body, sideways (world +y),
  for ``duration_s`` from ``start_s``;
* ``velocity_push``: the base's horizontal velocity changes at once by ``velocity_m_s``,
  ``forward`` or ``sideways`` (to the left) in the base's heading frame at ``start_s``
  (legged_gym's pushes, and the training env's: the same ``Simulator.add_base_velocity``).

:func:`run_fault` returns a :class:`FaultOutcome`: the safety transition the controller took
(mode and reason), when damping was first commanded relative to the fault, how the run ended,
from the simulator's ground truth, and for a push whether the robot survived it (the policy
still running and no fall by the end) and the base's peak speed along the push after it.
:func:`fault_table` writes them as markdown, a row per policy, model and fault.
"""

from dataclasses import dataclass, replace
import math
from pathlib import Path
from typing import List, Optional, Sequence, Tuple

from lpn_controller.bags import BagWriter
from lpn_controller.controller import ControllerConfig, ControlOutput
from lpn_controller.policy_format import ExportedPolicy
from lpn_controller.rotations import tilt_angle
from lpn_controller.safety import SafetyMode
import numpy as np
from quadruped_arm_bringup.closed_loop import run_closed_loop
from sim_bridge.config import robot_config_name
from sim_bridge.randomization import heading_velocity_change

FAULT_KINDS = ('joint_states_stop', 'imu_freeze', 'joint_state_nan', 'joint_state_nan_once',
               'estop', 'push', 'velocity_push')
PUSH_KINDS = ('push', 'velocity_push')
DESCRIPTIONS = {
    'joint_states_stop': 'joint states stop',
    'imu_freeze': 'IMU freezes',
    'joint_state_nan': 'NaN in one joint, every joint state from then on',
    'joint_state_nan_once': 'NaN in one joint, one joint state message',
    'estop': 'e-stop',
    'push': 'push on the base',
    'velocity_push': 'push on the base',
}
PUSH_DIRECTION = np.array([0.0, 1.0, 0.0])   # sideways: the direction a quadruped tips easiest
# A velocity push's direction in the heading frame: (forward, sideways to the left).
VELOCITY_PUSH_DIRECTIONS = {'sideways': (0.0, 1.0), 'forward': (1.0, 0.0)}
PUSH_VELOCITIES_M_S = (1.0, 1.5)   # legged_gym pushes up to 1 m/s; the issue asks 1.5 too
FALLEN_TILT_DEG = 45.0   # past this the robot lies on its side rather than stands or sits
SAT_DOWN_HEIGHT_M = 0.2   # base height below which the body rests on the ground (stands 0.45)


@dataclass(frozen=True)
class Fault:
    """
    One fault: what, from when (sim time, s), and for a push its size.

    A force push (``push``) has ``force_n`` for ``duration_s``; a velocity push
    (``velocity_push``) changes the base's velocity by ``velocity_m_s`` in ``direction``.
    """

    kind: str
    start_s: float
    force_n: float = 0.0
    duration_s: float = 0.1
    velocity_m_s: float = 0.0
    direction: str = 'sideways'

    def __post_init__(self):
        """Refuse unknown kinds and pushes without a size or with an unknown direction."""
        if self.kind not in FAULT_KINDS:
            raise ValueError(f'unknown fault {self.kind!r}; choose one of {list(FAULT_KINDS)}')
        if self.kind == 'push' and not (self.force_n > 0 and self.duration_s > 0):
            raise ValueError(f'a push needs a positive force and duration, got {self.force_n} N '
                             f'for {self.duration_s} s')
        if self.kind == 'velocity_push':
            if not (math.isfinite(self.velocity_m_s) and self.velocity_m_s > 0):
                raise ValueError(f'a velocity push needs a positive velocity change, got '
                                 f'{self.velocity_m_s} m/s')
            if self.direction not in VELOCITY_PUSH_DIRECTIONS:
                raise ValueError(f'unknown push direction {self.direction!r}; choose one of '
                                 f'{list(VELOCITY_PUSH_DIRECTIONS)}')

    @property
    def label(self) -> str:
        """Return a short description for a table row."""
        if self.kind == 'push':
            return f'{DESCRIPTIONS["push"]}, {self.force_n:g} N for {self.duration_s:g} s'
        if self.kind == 'velocity_push':
            return f'{DESCRIPTIONS["velocity_push"]}, {self.velocity_m_s:g} m/s {self.direction}'
        return DESCRIPTIONS[self.kind]

    def velocity_change(self, orientation) -> np.ndarray:
        """Return a velocity push's world-frame change (m/s) for a base at ``orientation``."""
        forward, sideways = VELOCITY_PUSH_DIRECTIONS[self.direction]
        return heading_velocity_change(orientation, self.velocity_m_s * forward,
                                       self.velocity_m_s * sideways)


class FaultInjector:
    """
    The hooks run_closed_loop calls (see its docstring) for one fault, and what they saw.

    Besides injecting, it records the ground truth after the fault (lowest and final base
    height, largest tilt, the base's peak speed along a push) and the first control step that
    commanded damping at or after it.
    """

    def __init__(self, fault: Fault):
        """Prepare to inject ``fault``; nothing happens before its start time."""
        self.fault = fault
        self._last_imu = None   # the last state delivered before the fault
        self._nan_sent = False
        self._estop_sent = False
        self._pushing = False
        self.velocity_change: Optional[np.ndarray] = None   # a velocity push's, once applied
        # Where the peak speed is measured: a force push's direction; a velocity push's once
        # applied (it turns with the heading); world +y for other faults.
        self._push_direction = PUSH_DIRECTION[:2]
        self.first_damping_s: Optional[float] = None
        self.min_height_after_m = math.inf
        self.max_tilt_after_deg = 0.0
        self.final_height_m = math.nan
        self.final_tilt_deg = math.nan
        self.peak_push_speed = 0.0

    def _active(self, time_s: float) -> bool:
        return time_s >= self.fault.start_s - 1e-9

    def before_tick(self, time_s: float, simulator):
        """Apply a force push during its window, a velocity push once at its start."""
        fault = self.fault
        if fault.kind == 'velocity_push':
            if self.velocity_change is None and self._active(time_s):
                change = fault.velocity_change(simulator.read_state().base_orientation)
                simulator.add_base_velocity(change)
                self.velocity_change = change
                self._push_direction = change[:2] / np.linalg.norm(change[:2])
            return
        if fault.kind != 'push':
            return
        pushing = self._active(time_s) and time_s < fault.start_s + fault.duration_s - 1e-9
        if pushing != self._pushing:
            simulator.set_base_wrench(fault.force_n * PUSH_DIRECTION if pushing else np.zeros(3))
            self._pushing = pushing

    def deliver(self, time_s: float, state) -> Tuple[Optional[object], Optional[object]]:
        """Return the states the joint-state and IMU messages carry (None: not delivered)."""
        self._watch(time_s, state)
        if not self._active(time_s):
            self._last_imu = state
            return state, state
        kind = self.fault.kind
        if kind == 'joint_states_stop':
            return None, state
        if kind == 'imu_freeze':
            frozen = self._last_imu if self._last_imu is not None else state
            return state, replace(state, imu_orientation=frozen.imu_orientation,
                                  imu_angular_velocity=frozen.imu_angular_velocity,
                                  imu_linear_acceleration=frozen.imu_linear_acceleration)
        if kind == 'joint_state_nan' or (kind == 'joint_state_nan_once' and not self._nan_sent):
            self._nan_sent = True
            positions = state.joint_positions.copy()
            positions[0] = math.nan
            return replace(state, joint_positions=positions), state
        return state, state

    def estop(self, time_s: float) -> bool:
        """Return True once, at the e-stop's time."""
        if self.fault.kind == 'estop' and not self._estop_sent and self._active(time_s):
            self._estop_sent = True
            return True
        return False

    def observe(self, output: ControlOutput):
        """Note the first control step at or after the fault that commands damping."""
        if (self.first_damping_s is None and self._active(output.time_s)
                and output.mode == SafetyMode.DAMPING):
            self.first_damping_s = output.time_s

    def _watch(self, time_s: float, state):
        height = float(state.base_position[2])
        tilt = float(np.degrees(tilt_angle(state.base_orientation)))
        self.final_height_m, self.final_tilt_deg = height, tilt
        if self._active(time_s):
            self.min_height_after_m = min(self.min_height_after_m, height)
            self.max_tilt_after_deg = max(self.max_tilt_after_deg, tilt)
            along = float(np.dot(state.base_linear_velocity[:2], self._push_direction))
            self.peak_push_speed = max(self.peak_push_speed, along)


@dataclass(frozen=True)
class FaultOutcome:
    """What the controller did about one fault and how the run ended."""

    fault: Fault
    control_period_s: float
    mode_after: str                  # the controller's mode at the end of the run
    reason: str                      # why it left the policy, or '' if it never did
    reaction_s: Optional[float]      # first damping command after the fault; None: none
    min_height_after_m: float
    max_tilt_after_deg: float
    final_height_m: float
    final_tilt_deg: float
    peak_push_speed: float   # m/s, the base's peak speed along the push after it
    policy_engaged_s: Optional[float]
    instabilities: Tuple[str, ...] = ()   # MuJoCo reset the simulation: the run stopped there
    policy: str = ''   # the policy's and the robot model's names, for the table
    model: str = ''

    @property
    def within_one_period(self) -> Optional[bool]:
        """Return whether damping came within one control period (None without damping)."""
        if self.reaction_s is None:
            return None
        return self.reaction_s <= self.control_period_s + 1e-9

    @property
    def fell(self) -> bool:
        """Return whether the robot tipped past FALLEN_TILT_DEG after the fault."""
        return self.max_tilt_after_deg > FALLEN_TILT_DEG

    @property
    def survived(self) -> bool:
        """Return whether the policy still ran at the end, the sim held and nothing fell."""
        return (not self.instabilities and not self.fell
                and self.mode_after == SafetyMode.POLICY.value)

    @property
    def ending(self) -> str:
        """Return how the run ended, in words."""
        if self.instabilities:
            return 'simulation unstable (MuJoCo reset it): run stopped, not a fall'
        fell = self.fell
        if self.mode_after == SafetyMode.POLICY.value:
            return 'recovered, policy kept going' if not fell else 'policy running, but fell'
        if fell:
            return 'damping, fell over'
        if self.final_height_m < SAT_DOWN_HEIGHT_M:
            return 'damping, no fall: sank upright onto its belly'
        return 'damping, no fall: held its last measured posture'


def run_fault(policy: ExportedPolicy, fault: Fault, seconds: float, bag: BagWriter,
              controller_config: ControllerConfig = ControllerConfig(),
              seed: int = 0, robot_config=None) -> FaultOutcome:
    """
    Run the closed loop for ``seconds`` with ``fault`` injected; return its outcome.

    ``robot_config``: another robot configuration YAML (run_closed_loop's), packaged if None.
    """
    if not fault.start_s < seconds:
        raise ValueError(f'the fault at {fault.start_s} s must start before the run ends '
                         f'({seconds} s)')
    injector = FaultInjector(fault)
    result = run_closed_loop(policy, seconds, bag, seed=seed,
                             controller_config=controller_config, faults=injector,
                             robot_config=robot_config)
    left_policy = [(time_s, reason) for time_s, mode, reason in result.transitions
                   if mode == SafetyMode.DAMPING.value and time_s >= fault.start_s - 1e-9]
    rate = controller_config.control_rate_hz or policy.metadata.control_rate_hz
    reaction = (None if injector.first_damping_s is None
                else injector.first_damping_s - fault.start_s)
    return FaultOutcome(
        fault, 1.0 / rate, result.final_mode, left_policy[0][1] if left_policy else '',
        reaction, injector.min_height_after_m, injector.max_tilt_after_deg,
        injector.final_height_m, injector.final_tilt_deg, injector.peak_push_speed,
        result.policy_engaged_s, tuple(result.instabilities), Path(policy.source).name,
        robot_config_name(robot_config))


def instability_lines(outcomes: Sequence[FaultOutcome]) -> List[str]:
    """Return one line per run whose simulation went unstable (none when all held)."""
    def where(outcome):
        return f'{outcome.policy} on {outcome.model}, ' if outcome.policy else ''
    return [f'note: {where(outcome)}{outcome.fault.label}: {event}' for outcome in outcomes
            for event in outcome.instabilities]


def standard_faults(start_s: float, push_forces_n: Sequence[float] = (100, 200, 400, 800),
                    push_velocities_m_s: Sequence[float] = PUSH_VELOCITIES_M_S,
                    push_directions: Sequence[str] = tuple(VELOCITY_PUSH_DIRECTIONS)
                    ) -> List[Fault]:
    """
    Return the fault table's rows: each non-push fault, force pushes, then velocity pushes.

    Velocity pushes come per direction, each in the given sizes.
    """
    return ([Fault(kind, start_s) for kind in FAULT_KINDS if kind not in PUSH_KINDS]
            + [Fault('push', start_s, force_n=float(force)) for force in push_forces_n]
            + [Fault('velocity_push', start_s, velocity_m_s=float(size), direction=direction)
               for direction in push_directions for size in push_velocities_m_s])


def fault_table(outcomes: Sequence[FaultOutcome]) -> str:
    """
    Return the outcomes as a markdown table, one row per policy, model and fault.

    ``survived`` (the policy still ran at the end and the robot did not fall) and the peak
    speed along the push are given for pushes only.
    """
    lines = ['| policy | model | fault | controller did | damping after (ms) | within one period '
             '| ended | survived | min base height after (m) | max tilt after (deg) | final '
             'height (m), tilt (deg) | peak speed along the push (m/s) |',
             '|---|---|---|---|---|---|---|---|---|---|---|---|']
    for outcome in outcomes:
        did = (f'{SafetyMode.DAMPING.value}: {outcome.reason}' if outcome.reason
               else f'stayed in {outcome.mode_after}')
        reaction = '-' if outcome.reaction_s is None else f'{1e3 * outcome.reaction_s:.0f}'
        within = {None: '-', True: 'yes', False: 'no'}[outcome.within_one_period]
        pushed = outcome.fault.kind in PUSH_KINDS
        survived = ('yes' if outcome.survived else 'no') if pushed else '-'
        speed = f'{outcome.peak_push_speed:.2f}' if pushed else '-'
        lines.append(
            f'| {outcome.policy or "-"} | {outcome.model or "-"} | {outcome.fault.label} | '
            f'{did} | {reaction} | {within} | {outcome.ending} | {survived} | '
            f'{outcome.min_height_after_m:.3f} | {outcome.max_tilt_after_deg:.1f} | '
            f'{outcome.final_height_m:.3f}, {outcome.final_tilt_deg:.1f} | {speed} |')
    return '\n'.join(lines)
