"""
Physics configurations: how finely the same robot model is integrated and what collides.

A physics configuration is a set of simulation options applied to the robot's own model, not a
second model: masses, joints, PD gains, torque limits and the control rate stay the robot's.

* ``full``: the model as its MJCF and robot configuration say (500 Hz for the packaged robot).
  The bridge node, ``make demo`` and evaluation default to it.
* ``fast``: for training, sized after MuJoCo Playground's quadruped tasks (ctrl_dt 0.02 s,
  sim_dt 0.004 s): physics at 250 Hz with the implicitfast integrator (the PD stays stable at
  that step: it is integrated implicitly in the joint velocities), the constraint solver capped
  at a few iterations (on this model Newton converges in 2-3), and only the geoms the task needs
  in contact with the floor: the feet, and the geoms fall detection reads (the caller names
  their bodies). Robot geoms never collide with each other in either configuration.

Policies record the configuration they were trained in (policy metadata ``physics``); loading a
policy into a simulator of another configuration warns (:func:`warn_if_mismatch`).
"""

from dataclasses import dataclass, replace
import fnmatch
from typing import Optional
import warnings

import mujoco
import numpy as np


class PhysicsMismatchWarning(UserWarning):
    """A policy runs in a physics configuration other than the one it was trained in."""


@dataclass(frozen=True)
class PhysicsConfig:
    """Simulation options over a robot model; None keeps the model's or the robot's value."""

    name: str
    physics_rate_hz: Optional[float] = None   # None: the robot configuration's rate
    integrator: Optional[str] = None          # a mujoco.mjtIntegrator name without mjINT_
    iterations: Optional[int] = None          # constraint solver iterations
    ls_iterations: Optional[int] = None       # line-search iterations per solver iteration
    feet_and_named_contacts_only: bool = False
    description: str = ''


PHYSICS_CONFIGS = {
    'full': PhysicsConfig('full', description="the robot's model and rates as configured"),
    'fast': PhysicsConfig(
        'fast', physics_rate_hz=250.0, integrator='IMPLICITFAST', iterations=6,
        ls_iterations=8, feet_and_named_contacts_only=True,
        description='250 Hz, implicitfast, 6 solver iterations, feet and fall-detection '
                    'geoms collide'),
}
DEFAULT_PHYSICS = 'full'


def physics_config(name):
    """Return the named PhysicsConfig; a PhysicsConfig passes through."""
    if isinstance(name, PhysicsConfig):
        return name
    if name not in PHYSICS_CONFIGS:
        raise ValueError(f'unknown physics configuration {name!r}; known configurations are '
                         f'{sorted(PHYSICS_CONFIGS)}')
    return PHYSICS_CONFIGS[name]


def robot_config_for(config, physics):
    """Return the robot configuration with the physics rate of ``physics`` (control rate kept)."""
    physics = physics_config(physics)
    if physics.physics_rate_hz is None:
        return config
    substeps = physics.physics_rate_hz / config.control_rate_hz
    if abs(substeps - round(substeps)) > 1e-9 or round(substeps) < 1:
        raise ValueError(f"physics configuration '{physics.name}' runs at "
                         f'{physics.physics_rate_hz:g} Hz, not a whole multiple of the control '
                         f'rate {config.control_rate_hz:g} Hz of {config.source}')
    return replace(config, physics_rate_hz=physics.physics_rate_hz)


def apply_physics(model, config, physics, contact_bodies=()):
    """
    Set the options of ``physics`` on a compiled model of ``config`` (in place).

    ``contact_bodies`` are shell-style body patterns whose geoms keep their floor contacts when
    the configuration filters collisions (fall detection reads those contacts).
    """
    physics = physics_config(physics)
    model.opt.timestep = robot_config_for(config, physics).physics_dt
    if physics.integrator is not None:
        model.opt.integrator = getattr(mujoco.mjtIntegrator, f'mjINT_{physics.integrator}')
    if physics.iterations is not None:
        model.opt.iterations = physics.iterations
    if physics.ls_iterations is not None:
        model.opt.ls_iterations = physics.ls_iterations
    if physics.feet_and_named_contacts_only:
        robot = robot_geoms(model)
        keep = set(foot_geoms(model, config)) | set(
            geoms_of_bodies(model, contact_bodies, f'model {config.model_path}'))
        drop = [g for g in robot if g not in keep]
        model.geom_contype[drop] = 0
        model.geom_conaffinity[drop] = 0
    return model


def robot_geoms(model):
    """Return the ids of the geoms not on the world body."""
    return [g for g in range(model.ngeom) if model.geom_bodyid[g] != 0]


def foot_geoms(model, config):
    """Return, per foot site of ``config``, the id of the geom on its body nearest the site."""
    if not config.foot_sites:
        raise ValueError(f'{config.source}: a physics configuration that keeps only the feet in '
                         "contact needs the robot's foot_sites")
    feet = []
    for site in config.foot_sites:
        site_id = mujoco.mj_name2id(model, mujoco.mjtObj.mjOBJ_SITE, site)
        body = model.site_bodyid[site_id]
        candidates = [g for g in range(model.ngeom) if model.geom_bodyid[g] == body]
        if not candidates:
            raise ValueError(f"{config.source}: foot site '{site}' is on body "
                             f"'{model.body(body).name}', which has no geom to stand on")
        distances = [np.linalg.norm(model.geom_pos[g] - model.site_pos[site_id])
                     for g in candidates]
        feet.append(candidates[int(np.argmin(distances))])
    return feet


def geoms_of_bodies(model, body_patterns, where='the model'):
    """Return the ids of the geoms on bodies whose names match any shell-style pattern."""
    names = [model.body(b).name for b in range(model.nbody)]
    unmatched = [p for p in body_patterns if not any(fnmatch.fnmatchcase(n, p) for n in names)]
    if unmatched:
        raise ValueError(f'body patterns {unmatched} match no body of {where}; its bodies '
                         f'are {names}')
    return [g for g in range(model.ngeom)
            if any(fnmatch.fnmatchcase(names[model.geom_bodyid[g]], p) for p in body_patterns)]


def warn_if_mismatch(policy_physics, simulator_physics, what='the policy'):
    """
    Warn (PhysicsMismatchWarning) when a policy meets a simulator of another configuration.

    ``policy_physics`` None (a policy from before the field existed) means ``full``.
    """
    trained = policy_physics or DEFAULT_PHYSICS
    running = physics_config(simulator_physics).name
    if trained != running:
        warnings.warn(f"{what} was trained in physics configuration '{trained}' and now runs "
                      f"in '{running}'; its figures there are a sim-to-sim transfer",
                      PhysicsMismatchWarning, stacklevel=2)
        return True
    return False
