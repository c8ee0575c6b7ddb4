"""
The deployed start on any model: stand, interpolate to the policy's pose, engage; then measure.

:func:`deployed_start_figures` runs :func:`quadruped_arm_bringup.closed_loop.run_closed_loop`
(the bridge core and the controller core as the launch wires them: the robot starts from its
standing keyframe, the controller interpolates to the policy's default pose and engages) on a
robot model, and measures from engagement to the end of the run, from the simulator's ground
truth: whether the policy stayed engaged and the simulation held (``survival_rate`` 1 or 0),
forward and lateral speed in the heading it engaged with, heading drift, and the smoothness
metrics of the policy's actions (lpn_controller.metrics, the one implementation). The figures
carry evaluate_policy's names, so a transfer table holds both starts side by side.
"""

from pathlib import Path
import tempfile

from lpn_controller.bags import BagWriter
from lpn_controller.metrics import smoothness_report
from lpn_controller.rotations import yaw_angle
import numpy as np
from quadruped_arm_bringup.closed_loop import run_closed_loop

MIN_WINDOW = 16   # actions; fewer after engagement give no smoothness figures


class _Recorder:
    """run_closed_loop's ``faults`` hooks, injecting nothing: they record the ground truth."""

    def __init__(self):
        self.times, self.positions, self.yaws, self.actions = [], [], [], []

    def before_tick(self, time_s, simulator):
        """Inject nothing."""

    def deliver(self, time_s, state):
        """Record the base's pose; deliver the state unchanged to both inputs."""
        self.times.append(time_s)
        self.positions.append(np.array(state.base_position[:2]))
        self.yaws.append(float(yaw_angle(state.base_orientation)))
        return state, state

    def estop(self, time_s):
        """Never press the e-stop."""
        return False

    def observe(self, output):
        """Keep the policy's actions (after engagement only the policy acts)."""
        if output.action is not None:
            self.actions.append(np.array(output.action))


def deployed_start_figures(policy, seconds, robot_config=None, joint_remap=None, seed=0):
    """Return the deployed run's figures (a JSON-ready dict; see module) on ``robot_config``."""
    recorder = _Recorder()
    with tempfile.TemporaryDirectory() as folder:
        with BagWriter(Path(folder) / 'run') as bag:
            result = run_closed_loop(policy, seconds, bag, seed=seed, robot_config=robot_config,
                                     joint_remap=joint_remap, faults=recorder)
    figures = {'start': 'deployed', 'seconds': seconds, 'episodes': 1,
               'engaged_s': result.policy_engaged_s,
               'survival_rate': 1.0 if result.stayed_up else 0.0,
               'unstable_episodes': len(result.instabilities), 'final_mode': result.final_mode,
               'forward_speed_m_s': None, 'lateral_speed_m_s': None,
               'heading_drift_deg_per_s': None, 'actions': len(recorder.actions),
               'smoothness': {'hfr': {'value': None}, 'sm': {'value': None}}, 'world': {}}
    times = np.array(recorder.times)
    if result.policy_engaged_s is None or len(times) < 2:
        return figures
    engaged = int(np.searchsorted(times, result.policy_engaged_s))
    engaged = min(engaged, len(times) - 2)
    duration = times[-1] - times[engaged]
    yaw = np.unwrap(np.array(recorder.yaws))
    heading = yaw[engaged]
    moved = recorder.positions[-1] - recorder.positions[engaged]
    along = np.array([np.cos(heading), np.sin(heading)])
    across = np.array([-np.sin(heading), np.cos(heading)])
    figures.update(forward_speed_m_s=float(moved @ along / duration),
                   lateral_speed_m_s=float(moved @ across / duration),
                   heading_drift_deg_per_s=float(np.degrees(yaw[-1] - heading) / duration))
    if len(recorder.actions) >= MIN_WINDOW:
        report = smoothness_report(np.array(recorder.actions),
                                   float(policy.metadata.control_rate_hz))
        figures['smoothness'] = {name: {'value': metric.value, 'unit': metric.unit}
                                 for name, metric in report.items()}
    return figures
