"""
What the controller asks of a ros2_control driver when it stops: plain Python, no ROS.

Passive damping (controller.py) stops the motion but keeps a ros2_control driver streaming the
controller's targets, and a node that stops publishing leaves the forward controller holding its
last target forever. A driver whose hardware component does something safe when deactivated
(spot_ros2_control: Spot sits down and cuts motor power, then releases the lease) can be asked
for it through controller_manager's ``set_hardware_component_state`` service. This module
decides when: after ``damping_s`` of latched damping for an e-stop or a fault, and at once when
the node shuts down (SIGINT, SIGTERM, an exception), each only where ``power_off_on`` names it.
The node (node.py) makes the calls; this module only plans them.

Once the component is deactivated the robot is powered off: the controller refuses
``~/reset_estop`` until the driver's hardware is activated again and the node restarted.
"""

from dataclasses import dataclass
from typing import Optional, Tuple

from lpn_controller.safety import SafetyMode

EVENTS = ('estop', 'fault', 'shutdown')
# lifecycle_msgs/State: the id and label of the inactive primary state.
INACTIVE_STATE = (2, 'inactive')


@dataclass(frozen=True)
class SafeStopConfig:
    """
    Which hardware component to deactivate, through which controller manager, and when.

    ``hardware_component`` empty: never (the driver keeps the last target). ``damping_s``:
    seconds of damping before an e-stop or fault powers the robot off, so it is still when it
    sits. ``timeout_s``: how long the node waits for the service at shutdown.
    """

    hardware_component: str = ''
    controller_manager: str = '/controller_manager'
    power_off_on: Tuple[str, ...] = EVENTS
    damping_s: float = 1.0
    timeout_s: float = 3.0

    def __post_init__(self):
        """Refuse unknown events and negative times, naming them."""
        unknown = [event for event in self.power_off_on if event not in EVENTS]
        if unknown:
            raise ValueError(f'safe stop: unknown event(s) {", ".join(unknown)}; known: '
                             f'{", ".join(EVENTS)}')
        if not (self.damping_s >= 0.0 and self.timeout_s > 0.0):
            raise ValueError(f'safe stop: damping_s must be >= 0 and timeout_s > 0, got '
                             f'{self.damping_s} and {self.timeout_s}')

    @property
    def service(self) -> str:
        """Return the controller manager's set_hardware_component_state service name."""
        return f'{self.controller_manager.rstrip("/")}/set_hardware_component_state'


@dataclass(frozen=True)
class PowerOffRequest:
    """Ask the controller manager to move ``component`` to the inactive state; say why."""

    component: str
    state_id: int
    state_label: str
    reason: str


class SafeStopPlanner:
    """Decides, step by step and at shutdown, whether to deactivate the hardware component."""

    def __init__(self, config: SafeStopConfig = SafeStopConfig()):
        """Start with nothing requested."""
        self.config = config
        self.requested: Optional[PowerOffRequest] = None
        self.powered_off = False

    def _request(self, event: str, reason: str) -> Optional[PowerOffRequest]:
        if (not self.config.hardware_component or event not in self.config.power_off_on
                or self.requested is not None):
            return None
        self.requested = PowerOffRequest(self.config.hardware_component, *INACTIVE_STATE,
                                         f'{event}: {reason}')
        return self.requested

    def after_step(self, now_s: float, mode: SafetyMode, mode_start_s: Optional[float],
                   reason: str, estop_active: bool) -> Optional[PowerOffRequest]:
        """Return a request once latched damping has lasted ``damping_s``, else None."""
        if mode != SafetyMode.DAMPING or mode_start_s is None:
            return None
        if now_s - mode_start_s < self.config.damping_s:
            return None
        return self._request('estop' if estop_active else 'fault', reason)

    def at_shutdown(self, cause: str) -> Optional[PowerOffRequest]:
        """Return the request to make as the node stops (``cause``: signal or exception)."""
        return self._request('shutdown', cause)

    def done(self, ok: bool):
        """Record the service's answer: True when the component reached inactive."""
        self.powered_off = self.powered_off or ok
        if not ok:
            self.requested = None    # a later event may try again

    def reset_refusal(self) -> Optional[str]:
        """Return why ~/reset_estop must be refused (the robot was powered off), or None."""
        if not self.powered_off:
            return None
        return (f'the robot was powered off ({self.config.hardware_component} deactivated): '
                'activate the hardware again (ros2 control set_hardware_component_state '
                f'{self.config.hardware_component} active) and restart this node')


def stop_hint(config: SafeStopConfig) -> str:
    """Return the command that makes the driver stop streaming the last target (e.g. SIGKILL)."""
    component = config.hardware_component or '<hardware component>'
    return (f'ros2 service call {config.service} '
            'controller_manager_msgs/srv/SetHardwareComponentState '
            f'"{{name: {component}, target_state: {{id: {INACTIVE_STATE[0]}, '
            f'label: {INACTIVE_STATE[1]}}}}}"')
