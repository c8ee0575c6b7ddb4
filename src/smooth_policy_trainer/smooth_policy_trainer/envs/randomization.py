"""
Domain randomisation of the imitation environment, drawn per environment at every reset.

Floor friction, base mass and PD gains (kp and kd together) in their configured ranges, and an
action latency of 0..k control steps. Disabled, it draws nothing and changes nothing: the switch
is decided once, in make_randomization.
"""

import numpy as np


class DomainRandomization:
    """Draws one environment's physics and latency at its reset."""

    def __init__(self, spec, robot, model, rng):
        self.spec, self.robot, self.rng = spec, robot, rng
        self.floor_geoms = [int(g) for g in range(model.ngeom) if model.geom_bodyid[g] == 0]
        self.base_body = model.body(robot.base_body).id
        self.nominal_mass = model.body_mass.copy()

    def apply(self, sim, latency, i):
        """Randomise environment ``i`` (its simulator ``sim``); writes its latency in place."""
        spec = self.spec
        model = sim.model
        model.geom_friction[self.floor_geoms, 0] = self.rng.uniform(*spec.friction)
        model.body_mass[self.base_body] = self.nominal_mass[self.base_body] * \
            self.rng.uniform(*spec.base_mass_scale)
        gain_scale = self.rng.uniform(*spec.pd_gain_scale)
        sim.set_pd_gains(np.multiply(self.robot.kp, gain_scale),
                         np.multiply(self.robot.kd, gain_scale))
        latency[i] = self.rng.integers(0, spec.max_latency_steps + 1)


class NoRandomization(DomainRandomization):
    """Randomisation disabled: every reset keeps the nominal model."""

    def apply(self, sim, latency, i):
        """Nothing to draw."""


def make_randomization(spec, robot, model, rng):
    """Return the randomisation of ``env.randomization`` (enabled or not)."""
    return (DomainRandomization if spec.enabled else NoRandomization)(spec, robot, model, rng)
