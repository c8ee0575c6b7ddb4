"""
What the critic may see and the actor may not: privileged inputs, for an asymmetric actor-critic.

As legged_gym's privileged observations: quantities of the simulation that no sensor on the
robot gives the policy. Only the critic uses them, during training; the exported policy never
sees them.

Why: a reward term can pay for something the actor observes only through its rate. The root
position term pays for the base's drift from the clip's root, which the policy sees as a velocity
at most; a critic without the drift takes the term's falling pay for noise and its advantages
cannot tell the actor which hop crept. With the drift among its inputs it can.

    critic: {privileged_inputs: [root_position_error]}
"""

from lpn_controller.rotations import heading_frame, yaw_angle
import numpy as np
from smooth_policy_trainer.config.choices import PRIVILEGED_INPUTS

# name: number of values per environment
SIZES = {'root_position_error': 2}
assert tuple(SIZES) == PRIVILEGED_INPUTS


def privileged_size(names):
    """Return how many values the inputs ``names`` add to the critic's input."""
    return sum(SIZES[name] for name in names)


def privileged_inputs(names, state, reference):
    """
    Return the privileged inputs ``names`` (N, privileged_size(names)) as float32.

    ``root_position_error``: the base's horizontal offset from the clip's root (m), in the
    reference's heading frame (x forward, y left), so that the same drift reads the same
    whichever way the clip faces.
    """
    columns = []
    for name in names:
        if name == 'root_position_error':
            offset = state.base_position[:, :2] - reference.root_position[:, :2]
            columns.append(np.stack(heading_frame(offset, yaw_angle(reference.root_orientation)),
                                    axis=-1))
        else:
            raise ValueError(f"unknown privileged input '{name}'; known: "
                             f"{', '.join(PRIVILEGED_INPUTS)}")
    if not columns:
        return np.zeros((len(state.base_position), 0), dtype=np.float32)
    return np.concatenate(columns, axis=-1).astype(np.float32)
