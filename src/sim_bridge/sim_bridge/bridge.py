"""
The sim bridge's logic, free of ROS: commands in, simulator ticks, what to publish out.

The node (``sim_bridge.node``) only turns messages into calls on :class:`BridgeCore` and its
results back into messages, so everything here is tested without rclpy.

Command safety: before the first command the robot holds its keyframe pose; a command stream
that stops for ``command_timeout_s`` of simulated time makes the bridge hold the posture it had
at that moment, with extra damping, until commands resume. Malformed commands (unknown joint
names, NaN, wrong length) are rejected whole and never reach the simulator.

Instability: a step after which MuJoCo reset the state (see sim_bridge.instability) is never
published. The tick reports the event (the node logs it as an error and puts it on
/diagnostics), then the bridge pauses (``on_unstable: pause``; it stays paused until ~/reset) or
puts the robot back to its keyframe and waits for commands (``on_unstable: reset``).
"""

from dataclasses import dataclass
import enum
import math

import numpy as np


class CommandError(ValueError):
    """A joint command that cannot be applied; the message says why."""


class CommandMode(enum.Enum):
    """Where the tracked joint targets come from."""

    WAITING = 'waiting for the first command: holding the keyframe pose'
    TRACKING = 'tracking commands'
    HOLDING = 'commands are stale: holding the last posture with damping'


CLOCK_EVERY = ('physics', 'control')
ON_UNSTABLE = ('pause', 'reset')

# diagnostic_msgs/DiagnosticStatus levels.
DIAGNOSTIC_OK, DIAGNOSTIC_WARN, DIAGNOSTIC_ERROR = 0, 1, 2
DIAGNOSTIC_NAME = 'sim_bridge: simulation'


# The node's ROS parameters: (name, default, description). Kept here, free of ROS, so tests
# check the shipped parameter file against it.
NODE_PARAMETERS = (
    ('robot_config', '', 'Robot configuration YAML (model, joints, PD gains, rates); empty '
                         'selects the packaged quadruped with arm.'),
    ('seed', 0, "Seed of the simulator's random generator."),
    ('real_time_factor', 1.0, 'Simulated seconds per wall-clock second (> 0).'),
    ('clock_every', 'physics', 'Advance and publish /clock every "physics" step or every '
                               '"control" step.'),
    ('state_rate_hz', 100.0, 'Rate of /joint_states, /imu and /odom in simulated time; must '
                             'divide the tick rate.'),
    ('command_timeout_s', 0.1, 'Simulated seconds without a command before the bridge holds '
                               'the last posture with damping.'),
    ('hold_kp_scale', 1.0, 'Stiffness scale while holding after stale commands.'),
    ('hold_kd_scale', 2.0, 'Damping scale while holding after stale commands.'),
    ('joint_command_topic', '/joint_commands', 'sensor_msgs/JointState position targets by '
                                               'joint name.'),
    ('array_command_topic', '/forward_position_controller/commands',
     'std_msgs/Float64MultiArray targets in the configured joint order (ros2_control forward '
     'controller convention); empty disables.'),
    ('odom_frame_id', 'odom', 'Frame of the ground-truth pose in /odom.'),
    ('base_frame_id', 'body', 'Child frame of /odom (twist is expressed in it).'),
    ('imu_frame_id', 'imu', 'Frame of /imu.'),
    ('start_paused', False, 'Start with the simulation paused (see ~/pause).'),
    ('on_unstable', 'pause', 'When MuJoCo resets an unstable simulation (NaN or huge '
                             'accelerations): "pause" stops it until ~/reset, "reset" puts the '
                             'robot back to its keyframe and waits for commands. Either way the '
                             'step is logged as an error and reported on /diagnostics, never '
                             'published.'),
    ('diagnostics_period_s', 1.0, 'Period of the /diagnostics status in wall-clock seconds.'),
    ('viewer', False, 'Open the MuJoCo passive viewer (needs a display; without one the bridge '
                      'warns and runs headless).'),
)


@dataclass(frozen=True)
class BridgeSettings:
    """Run-time behaviour of the bridge; the node fills it from ROS parameters."""

    clock_every: str = 'physics'
    state_rate_hz: float = 100.0
    command_timeout_s: float = 0.1
    hold_kp_scale: float = 1.0
    hold_kd_scale: float = 2.0
    real_time_factor: float = 1.0
    on_unstable: str = 'pause'


@dataclass(frozen=True)
class TickPlan:
    """How one timer tick advances the simulator and how often states go out."""

    physics_steps_per_tick: int
    ticks_per_state: int
    tick_dt: float
    wall_period: float


def plan_ticks(config, settings):
    """Check the settings against the robot config and derive the tick schedule."""
    if settings.clock_every not in CLOCK_EVERY:
        raise ValueError(f"clock_every must be one of {CLOCK_EVERY}, got '{settings.clock_every}'")
    if not settings.real_time_factor > 0:
        raise ValueError(f'real_time_factor must be > 0, got {settings.real_time_factor}')
    if settings.on_unstable not in ON_UNSTABLE:
        raise ValueError(f'on_unstable must be one of {ON_UNSTABLE}, got '
                         f"'{settings.on_unstable}'")
    if not settings.command_timeout_s > 0:
        raise ValueError(f'command_timeout_s must be > 0, got {settings.command_timeout_s}')
    steps = 1 if settings.clock_every == 'physics' else config.substeps
    tick_rate = config.physics_rate_hz / steps
    ratio = tick_rate / settings.state_rate_hz if settings.state_rate_hz > 0 else math.nan
    if not (ratio >= 1 and math.isclose(ratio, round(ratio), abs_tol=1e-9)):
        raise ValueError(f'state_rate_hz ({settings.state_rate_hz}) must divide the tick rate '
                         f'({tick_rate:g} Hz with clock_every={settings.clock_every})')
    tick_dt = steps * config.physics_dt
    return TickPlan(steps, int(round(ratio)), tick_dt, tick_dt / settings.real_time_factor)


@dataclass
class TickResult:
    """What the node publishes after a tick."""

    time: float
    state: object = None
    mode_change: CommandMode = None
    instability: object = None   # the InstabilityEvent of this tick (nothing else published)


class BridgeCore:
    """Owns the simulator and decides, every tick, which joint targets it tracks."""

    def __init__(self, simulator, settings=BridgeSettings()):
        self.sim = simulator
        self.settings = settings
        self.plan = plan_ticks(simulator.config, settings)
        self.joint_names = tuple(simulator.joint_names)
        self._index = {name: i for i, name in enumerate(self.joint_names)}
        self.paused = False
        self.instability = None     # the last InstabilityEvent
        self.instabilities = 0
        self._paused_by_instability = False
        self.commands_rejected = 0
        self._ticks = 0
        self._restart_waiting()

    def _restart_waiting(self):
        self.mode = CommandMode.WAITING
        self._commanded = self.sim.joint_targets
        self._last_command_time = None
        self.sim.set_pd_gains(self.sim.config.kp, self.sim.config.kd)

    # -- commands ------------------------------------------------------------------------------

    def command_by_name(self, names, positions):
        """Apply a JointState-style command: positions by joint name, a subset allowed."""
        names, positions = list(names), list(positions)
        if len(names) != len(positions):
            self._reject(f'{len(names)} names but {len(positions)} positions')
        unknown = [name for name in names if name not in self._index]
        if unknown:
            self._reject(f'unknown joint names {unknown}; this bridge commands '
                         f'{list(self.joint_names)}')
        if len(set(names)) != len(names):
            self._reject('a joint name appears more than once')
        targets = self._commanded.copy()
        targets[[self._index[name] for name in names]] = positions
        self._accept(targets, names, positions)

    def command_array(self, values):
        """Apply a Float64MultiArray-style command: every joint, in the configured order."""
        values = list(values)
        if len(values) != len(self.joint_names):
            self._reject(f'expected {len(self.joint_names)} values in the order '
                         f'{list(self.joint_names)}, got {len(values)}')
        self._accept(np.array(values, dtype=float), self.joint_names, values)

    def _accept(self, targets, names, positions):
        bad = [name for name, value in zip(names, positions) if not math.isfinite(value)]
        if bad:
            self._reject(f'non-finite targets for {bad}')
        self._commanded = targets
        self._last_command_time = self.sim.time

    def _reject(self, reason):
        self.commands_rejected += 1
        raise CommandError(f'joint command rejected: {reason}')

    # -- simulation ----------------------------------------------------------------------------

    def _update_mode(self):
        """Return the new mode if it changed, after applying what the change requires."""
        if self._last_command_time is None:
            return None
        fresh = self.sim.time - self._last_command_time < self.settings.command_timeout_s
        if fresh and self.mode is not CommandMode.TRACKING:
            self.mode = CommandMode.TRACKING
            self.sim.set_pd_gains(self.sim.config.kp, self.sim.config.kd)
            return self.mode
        if not fresh and self.mode is CommandMode.TRACKING:
            self.mode = CommandMode.HOLDING
            self._held_posture = self.sim.read_state().joint_positions
            self.sim.set_pd_gains(np.multiply(self.sim.config.kp, self.settings.hold_kp_scale),
                                  np.multiply(self.sim.config.kd, self.settings.hold_kd_scale))
            return self.mode
        return None

    def tick(self):
        """Advance the simulator by one tick; None while paused."""
        if self.paused or self.sim.instability is not None:
            return None
        change = self._update_mode()
        if self.mode is CommandMode.HOLDING:
            self.sim.set_joint_targets(self._held_posture)
        else:
            self.sim.set_joint_targets(self._commanded)
        for _ in range(self.plan.physics_steps_per_tick):
            event = self.sim.physics_step()
            if event is not None:
                return self._went_unstable(event, change)
        self._ticks += 1
        publish_state = self._ticks % self.plan.ticks_per_state == 0
        return TickResult(self.sim.time, self.sim.read_state() if publish_state else None, change)

    def _went_unstable(self, event, change):
        # The state MuJoCo reset to is no robot's: never published. Pause, or start over.
        self.instability = event
        self.instabilities += 1
        if self.settings.on_unstable == 'reset':
            self.reset()
        else:
            self.paused = self._paused_by_instability = True
        return TickResult(self.sim.time, None, change, event)

    def set_paused(self, paused):
        """Pause or resume; returns (done, message). An unstable simulation resumes by reset."""
        if not paused and self.sim.instability is not None:
            self.paused = True
            return False, (f'cannot resume: {self.sim.instability}; call ~/reset to restart '
                           'from the keyframe')
        self.paused = bool(paused)
        self._paused_by_instability = False
        return True, 'paused' if self.paused else 'running'

    def reset(self):
        """
        Reset the robot to its keyframe, keeping the clock monotonic; wait for commands.

        A pause the bridge made after an unstable step ends here; a requested pause stays.
        """
        self.sim.reset(keep_time=True)
        if self._paused_by_instability:
            self.paused = self._paused_by_instability = False
        self._restart_waiting()
        return self.sim.read_state()

    def diagnostic(self):
        """Return the simulation's (level, message, [(key, value)]) for /diagnostics."""
        event = self.instability
        if self.sim.instability is not None:
            level, message = DIAGNOSTIC_ERROR, f'paused: {self.sim.instability}'
        elif event is not None:
            level = DIAGNOSTIC_WARN
            message = (f'running; reset to the keyframe after {self.instabilities} unstable '
                       f'step(s), the last at t = {event.time:.4f} s')
        else:
            level, message = DIAGNOSTIC_OK, 'paused' if self.paused else self.mode.value
        values = [('sim_time_s', f'{self.sim.time:.4f}'), ('mode', self.mode.name.lower()),
                  ('paused', str(self.paused).lower()),
                  ('unstable_steps', str(self.instabilities)),
                  ('on_unstable', self.settings.on_unstable),
                  ('commands_rejected', str(self.commands_rejected))]
        if event is not None:
            values += [('last_unstable_time_s', f'{event.time:.4f}'),
                       ('last_unstable_warning', ', '.join(event.warnings)),
                       ('last_unstable_text', event.text)]
        return level, message, values


class RealTimePacer:
    """
    How many ticks are due at a wall-clock time, so the simulation keeps real-time pace.

    A timer callback that runs late must not lose simulated time: the node runs every tick that
    is due, at most ``max_ticks_per_call`` at once. Further behind than that (a machine that
    cannot keep up), the pacer drops the backlog and restarts from now rather than racing.
    """

    def __init__(self, tick_dt, real_time_factor, max_ticks_per_call=50):
        self.wall_per_tick = tick_dt / real_time_factor
        self.max_ticks_per_call = max_ticks_per_call
        self.origin = None
        self.ticks = 0
        self.dropped = 0

    def ticks_due(self, wall_now):
        """Return the number of ticks to run now (wall_now in seconds, monotonic)."""
        if self.origin is None:
            self.origin, self.ticks = wall_now, 0
        # The epsilon keeps float round-off (0.002 / 0.002 = 0.99999...) from losing a tick.
        due = int((wall_now - self.origin) / self.wall_per_tick + 1e-6) - self.ticks
        if due > self.max_ticks_per_call:
            self.dropped += due - 1
            self.origin, self.ticks = wall_now, 0
            due = 1
        due = max(due, 0)
        self.ticks += due
        return due


# -- message fields (plain values; the node copies them into messages) ---------------------------

def stamp(seconds):
    """Split a time in seconds into ROS (sec, nanosec)."""
    nanoseconds = int(round(seconds * 1e9))
    return nanoseconds // 1_000_000_000, nanoseconds % 1_000_000_000


def xyzw(quaternion_wxyz):
    """Reorder a [w, x, y, z] quaternion into ROS's (x, y, z, w)."""
    w, x, y, z = (float(v) for v in quaternion_wxyz)
    return x, y, z, w
