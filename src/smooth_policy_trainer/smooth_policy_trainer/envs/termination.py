"""
When an imitation episode ends early: named reasons, each decided where the check is made.

A fall (a fall body touches the ground), a root height error above ``max_height_error``, a tilt
from the reference's above ``max_orientation_error`` (roll and pitch: heading drift is scored by
the reward, not a fall), and, when ``max_root_drift`` > 0, a horizontal distance from the
reference root above it (DeepMimic's early termination). A check that is off is not in the list.
"""

from lpn_controller.rotations import tilt_angle
import numpy as np


class Termination:
    """Returns which environments terminated, and for which reasons."""

    def __init__(self, config, touching_ground):
        self.touching_ground = touching_ground   # () -> (N,) bool: a fall body on the floor
        self.max_height_error = config.max_height_error
        self.max_orientation_error = config.max_orientation_error
        self.checks = {'fall': self._fell, 'height': self._height, 'tilt': self._tilt}
        if config.max_root_drift:   # the root position term's squared horizontal error
            self.max_drift_squared = config.max_root_drift ** 2
            self.checks['root_drift'] = self._drift

    def __call__(self, state, reference, errors):
        """Return (terminated (N,) bool, {reason: (N,) bool})."""
        reasons = {name: check(state, reference, errors) for name, check in self.checks.items()}
        terminated = np.zeros(len(state.base_position), dtype=bool)
        for hit in reasons.values():
            terminated = terminated | hit
        return terminated, reasons

    def _fell(self, state, reference, errors):
        return self.touching_ground()

    def _height(self, state, reference, errors):
        height_error = np.abs(state.base_position[:, 2] - reference.root_position[:, 2])
        return height_error > self.max_height_error

    def _tilt(self, state, reference, errors):
        tilt = tilt_angle(state.base_orientation, reference.root_orientation)
        return tilt > self.max_orientation_error

    def _drift(self, state, reference, errors):
        return errors['root_position'] > self.max_drift_squared
