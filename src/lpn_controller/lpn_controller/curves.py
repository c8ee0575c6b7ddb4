"""The minimum-jerk blend, the one implementation (the controller's ramps, the clip generator)."""

import numpy as np


def minimum_jerk(fraction):
    """
    Return 10 t^3 - 15 t^4 + 6 t^5 for t = fraction clipped to [0, 1] (arrays too).

    It goes from 0 to 1 with zero velocity and acceleration at both ends.
    """
    t = np.clip(fraction, 0.0, 1.0)
    return t * t * t * (10.0 + t * (-15.0 + 6.0 * t))
