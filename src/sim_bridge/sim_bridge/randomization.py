"""
Per-environment physics parameters of a VectorSimulator, and pushes on its robots.

Each environment of a VectorSimulator owns its MjModel copy, so its masses, gains or contacts
can differ from the others'. :class:`ModelRandomizer` keeps every environment's nominal values
(as compiled, with the robot configuration's gains) and sets a drawn parameter set on chosen
environments as scales of, or offsets from, those nominal values: a parameter left out returns
to nominal, so draws never compound over episodes. Parameter sets are row arrays with one row
per environment (:class:`PhysicsParameters`); the caller draws them, this module only applies
them.

Pushes (:func:`push_bases`) change the base's linear velocity at once (legged_gym's pushes),
in the world frame, as an impulse would; :func:`heading_velocity_change` turns a push stated
along and across the base's heading (forward, sideways) into that world-frame change.
"""

from dataclasses import dataclass, fields
from typing import Optional

from lpn_controller.rotations import yaw_angle
import numpy as np
from sim_bridge.physics import foot_geoms


@dataclass
class PhysicsParameters:
    """
    Physics parameters for k environments; each field (k, ...) or None for nominal.

    Scales multiply the nominal value; offsets add to it. Joint arrays are (k, n_joints) in the
    robot configuration's joint order; a (k,) array applies one value to every joint.
    """

    base_mass_scale: Optional[np.ndarray] = None       # (k,)
    link_mass_scale: Optional[np.ndarray] = None       # (k,) every other robot body
    base_com_offset: Optional[np.ndarray] = None       # (k, 3) m, in the base frame
    base_inertia_scale: Optional[np.ndarray] = None    # (k,) the principal inertia
    friction: Optional[np.ndarray] = None              # (k,) sliding friction, feet and floor
    foot_solref: Optional[np.ndarray] = None           # (k, 2) time constant (s), damping ratio
    foot_solimp: Optional[np.ndarray] = None           # (k, 2) impedance dmin, dmax
    foot_radius_scale: Optional[np.ndarray] = None     # (k,)
    kp_scale: Optional[np.ndarray] = None              # (k, n) or (k,)
    kd_scale: Optional[np.ndarray] = None              # (k, n) or (k,)
    strength_scale: Optional[np.ndarray] = None        # (k, n) or (k,): gains and torque limit
    armature_scale: Optional[np.ndarray] = None        # (k, n) or (k,)
    damping_scale: Optional[np.ndarray] = None         # (k, n) or (k,)

    def rows(self):
        """Return the number of environments the set is for (0 when every field is None)."""
        sizes = {len(value) for value in vars(self).values() if value is not None}
        if len(sizes) > 1:
            raise ValueError(f'physics parameter arrays disagree on the number of '
                             f'environments: {sorted(sizes)}')
        return sizes.pop() if sizes else 0

    def row(self, index):
        """Return the parameters of one environment (fields sliced to their row)."""
        return PhysicsParameters(**{f.name: None if getattr(self, f.name) is None
                                    else np.asarray(getattr(self, f.name))[index]
                                    for f in fields(self)})


class ModelRandomizer:
    """Sets per-environment physics parameters on a VectorSimulator's models (see module)."""

    def __init__(self, vector_simulator):
        """Record every environment's nominal values; the models must still be nominal."""
        self.vector = vector_simulator
        first = vector_simulator.envs[0]
        model, config = first.model, first.config
        self.base_body = first._base_body
        self.robot_bodies = np.array([b for b in range(1, model.nbody) if b != self.base_body])
        self.feet = np.array(foot_geoms(model, config), dtype=int)
        self.floor = np.array([g for g in range(model.ngeom) if model.geom_bodyid[g] == 0],
                              dtype=int)
        self.actuators = first._actuator_ids
        self.dofs = first._dof_ids
        self.nominal = [self._nominal(env) for env in vector_simulator.envs]

    def _nominal(self, env):
        model = env.model
        return {
            'body_mass': model.body_mass.copy(),
            'base_ipos': model.body_ipos[self.base_body].copy(),
            'base_sameframe': int(model.body_sameframe[self.base_body]),
            'base_inertia': model.body_inertia[self.base_body].copy(),
            'friction': model.geom_friction[:, 0].copy(),
            'solref': model.geom_solref.copy(),
            'solimp': model.geom_solimp.copy(),
            'geom_size': model.geom_size.copy(),
            'geom_rbound': model.geom_rbound.copy(),
            'geom_aabb': model.geom_aabb.copy(),
            'kp': np.array(env.config.kp, dtype=float),
            'kd': np.array(env.config.kd, dtype=float),
            'forcerange': model.actuator_forcerange[self.actuators].copy(),
            'armature': model.dof_armature[self.dofs].copy(),
            'damping': model.dof_damping[self.dofs].copy(),
        }

    def apply(self, env_ids, parameters):
        """Set ``parameters`` (one row per id in ``env_ids``) on those environments' models."""
        env_ids = np.asarray(env_ids, dtype=int)
        rows = parameters.rows()
        if rows not in (0, len(env_ids)):
            raise ValueError(f'{rows} parameter rows for {len(env_ids)} environments')
        for row, i in enumerate(env_ids):
            self._apply_one(int(i), parameters.row(row) if rows else parameters)

    def restore(self, env_ids=None):
        """Return these environments (all by default) to their nominal parameters."""
        ids = range(self.vector.num_envs) if env_ids is None else env_ids
        for i in ids:
            self._apply_one(int(i), PhysicsParameters())

    def _apply_one(self, i, p):
        env = self.vector.envs[i]
        model, nominal = env.model, self.nominal[i]
        mass = nominal['body_mass'].copy()
        if p.link_mass_scale is not None:
            mass[self.robot_bodies] *= p.link_mass_scale
        if p.base_mass_scale is not None:
            mass[self.base_body] *= p.base_mass_scale
        model.body_mass[:] = mass
        model.body_ipos[self.base_body] = nominal['base_ipos'] + (
            0.0 if p.base_com_offset is None else p.base_com_offset)
        # The compiler marks a body whose inertial frame is its own (body_sameframe) and MuJoCo
        # then skips body_ipos: a drawn offset needs the frame computed (0: no shortcut).
        model.body_sameframe[self.base_body] = (nominal['base_sameframe']
                                                if p.base_com_offset is None else 0)
        model.body_inertia[self.base_body] = nominal['base_inertia'] * (
            1.0 if p.base_inertia_scale is None else p.base_inertia_scale)
        # MuJoCo combines two geoms' friction by their maximum: set the floor and the feet
        # alike, so the drawn value is the contact's.
        contact = np.concatenate([self.feet, self.floor])
        model.geom_friction[:, 0] = nominal['friction']
        if p.friction is not None:
            model.geom_friction[contact, 0] = p.friction
        # solref and solimp are mixed by the geoms' solmix weights: set both sides here too.
        model.geom_solref[:] = nominal['solref']
        if p.foot_solref is not None:
            model.geom_solref[contact] = p.foot_solref
        model.geom_solimp[:] = nominal['solimp']
        if p.foot_solimp is not None:
            model.geom_solimp[contact, :2] = p.foot_solimp
        self._set_foot_radius(model, nominal, 1.0 if p.foot_radius_scale is None
                              else float(p.foot_radius_scale))
        strength = _joint_values(p.strength_scale, len(self.actuators))
        env.set_pd_gains(nominal['kp'] * _joint_values(p.kp_scale, len(self.actuators))
                         * strength,
                         nominal['kd'] * _joint_values(p.kd_scale, len(self.actuators))
                         * strength)
        model.actuator_forcerange[self.actuators] = nominal['forcerange'] * strength[:, None]
        model.dof_armature[self.dofs] = nominal['armature'] * _joint_values(
            p.armature_scale, len(self.dofs))
        model.dof_damping[self.dofs] = nominal['damping'] * _joint_values(
            p.damping_scale, len(self.dofs))
        # A changed model changes what the current state reads as (contacts, sensors).
        env._state_changed(fresh=False)

    def _set_foot_radius(self, model, nominal, scale):
        feet = self.feet
        # The first size is a sphere's or capsule's radius; the broad phase's bounding radius
        # and box grow with it, or contacts would be missed.
        model.geom_size[feet] = nominal['geom_size'][feet]
        model.geom_size[feet, 0] *= scale
        model.geom_rbound[feet] = nominal['geom_rbound'][feet] * scale
        model.geom_aabb[feet] = nominal['geom_aabb'][feet]
        model.geom_aabb[feet, 3:] *= scale

    def current(self, env_ids=None):
        """Return the applied values read back from the models (for tests and checks)."""
        ids = range(self.vector.num_envs) if env_ids is None else env_ids
        envs = [self.vector.envs[int(i)] for i in ids]
        return {
            'base_mass': np.array([e.model.body_mass[self.base_body] for e in envs]),
            'link_mass': np.array([e.model.body_mass[self.robot_bodies] for e in envs]),
            'base_ipos': np.array([e.model.body_ipos[self.base_body] for e in envs]),
            'base_inertia': np.array([e.model.body_inertia[self.base_body] for e in envs]),
            'friction': np.array([e.model.geom_friction[self.feet, 0] for e in envs]),
            'foot_solref': np.array([e.model.geom_solref[self.feet] for e in envs]),
            'foot_solimp': np.array([e.model.geom_solimp[self.feet, :2] for e in envs]),
            'foot_radius': np.array([e.model.geom_size[self.feet, 0] for e in envs]),
            'kp': np.array([e.kp for e in envs]), 'kd': np.array([e.kd for e in envs]),
            'torque_limit': np.array([e.model.actuator_forcerange[self.actuators, 1]
                                      for e in envs]),
            'armature': np.array([e.model.dof_armature[self.dofs] for e in envs]),
            'damping': np.array([e.model.dof_damping[self.dofs] for e in envs]),
        }


def _joint_values(values, n):
    if values is None:
        return np.ones(n)
    return np.broadcast_to(np.asarray(values, dtype=float), (n,)).copy()


def push_bases(vector_simulator, env_ids, velocity_change):
    """
    Add ``velocity_change`` (k x 3, m/s, world frame) to the base velocity of these environments.

    The change is immediate (an impulse): the next readout shows it, the next step starts
    from it. Only the pushed environments are touched.
    """
    env_ids = np.asarray(env_ids, dtype=int)
    velocity_change = np.asarray(velocity_change, dtype=float).reshape(len(env_ids), 3)
    if not np.all(np.isfinite(velocity_change)):
        raise ValueError('a push must be a finite velocity change')
    for i, change in zip(env_ids, velocity_change):
        vector_simulator.envs[int(i)].add_base_velocity(change)


def heading_velocity_change(orientation, forward_m_s, sideways_m_s):
    """
    Return the world-frame velocity change (3,) of a push stated in the base's heading frame.

    ``orientation`` is the base's quaternion ``[w, x, y, z]``; forward is along its heading
    (its yaw, whatever its roll and pitch), sideways to its left. The change is horizontal.
    """
    if not (np.isfinite(forward_m_s) and np.isfinite(sideways_m_s)):
        raise ValueError(f'a push must be finite, got forward {forward_m_s!r}, sideways '
                         f'{sideways_m_s!r} m/s')
    yaw = float(yaw_angle(orientation))
    cos, sin = np.cos(yaw), np.sin(yaw)
    return np.array([cos * forward_m_s - sin * sideways_m_s,
                     sin * forward_m_s + cos * sideways_m_s, 0.0])
