"""
Robot kinematics for motion clips: quaternions, body-frame sites, inverse kinematics, clearance.

Everything is read from the robot configuration and its MuJoCo model (joint order, foot and
gripper sites, limits, which joints move which site), so there is one list of joints: the
configuration's.
"""

from lpn_controller.rotations import quat_conjugate, quat_multiply, quat_to_rotvec
import mujoco
import numpy as np
from sim_bridge.config import load_config
from sim_bridge.simulator import load_model

CLEARANCE_CAP = 0.05  # m; clearances are only resolved up to this distance


def finite_difference_velocities(joint_positions, root_position, root_orientation, dt, loop,
                                 root_displacement_per_cycle=(0.0, 0.0, 0.0)):
    """
    Central-difference velocities of a clip's frames in the simulator's conventions.

    Returns joint velocities (rad/s), root linear velocity in the world frame and root angular
    velocity in the body frame, one row per frame. Loops wrap around (the frame after the last
    is the first, moved by the per-cycle root displacement); otherwise the ends are one-sided.
    """
    q, p, quat = joint_positions, root_position, root_orientation
    # Rotation from frame k to k + 1 as a rotation vector in body frame k (its axis is the
    # same in frame k + 1, so averaging two neighbours stays in the body frame).
    if loop:
        joint_velocity = (np.roll(q, -1, 0) - np.roll(q, 1, 0)) / (2 * dt)
        after, before = np.roll(p, -1, 0), np.roll(p, 1, 0)
        after[-1] += root_displacement_per_cycle
        before[0] -= root_displacement_per_cycle
        linear_velocity = (after - before) / (2 * dt)
        step = quat_to_rotvec(quat_multiply(quat_conjugate(quat), np.roll(quat, -1, 0)))
        return joint_velocity, linear_velocity, (step + np.roll(step, 1, 0)) / (2 * dt)
    step = quat_to_rotvec(quat_multiply(quat_conjugate(quat[:-1]), quat[1:])) / dt
    padded = np.concatenate([step[:1], step, step[-1:]])
    return (np.gradient(q, dt, axis=0), np.gradient(p, dt, axis=0),
            (padded[:-1] + padded[1:]) / 2)


def end_effector_site_names(config):
    """Return the end effectors the imitation reward compares: the feet, then the gripper."""
    names = tuple(config.foot_sites)
    return names + ((config.gripper_site,) if config.gripper_site else ())


class RobotKinematics:
    """Forward and inverse kinematics of the configured robot on a private MjData."""

    def __init__(self, config=None, model=None):
        self.config = config if config is not None else load_config()
        self.model = model if model is not None else load_model(self.config)
        self.data = mujoco.MjData(self.model)
        model = self.model
        joint_ids = [self._id(mujoco.mjtObj.mjOBJ_JOINT, n) for n in self.config.joint_names]
        self.qpos_ids = model.jnt_qposadr[joint_ids]
        self.dof_ids = model.jnt_dofadr[joint_ids]
        self.joint_limits = np.array([
            model.jnt_range[j] if model.jnt_limited[j] else (-np.inf, np.inf)
            for j in joint_ids], dtype=float)
        self.base_body = self._id(mujoco.mjtObj.mjOBJ_BODY, self.config.base_body)
        root_joint = model.body_jntadr[self.base_body]
        self.root_qpos = model.jnt_qposadr[root_joint]
        self._joint_bodies = model.jnt_bodyid[joint_ids]

    def _id(self, kind, name):
        index = mujoco.mj_name2id(self.model, kind, name)
        if index < 0:
            kind = kind.name[6:].lower()
            raise ValueError(f"{self.config.source}: no {kind} named '{name}' in model "
                             f'{self.config.model_path}')
        return index

    def site_id(self, name):
        """Return the MuJoCo id of a named site."""
        return self._id(mujoco.mjtObj.mjOBJ_SITE, name)

    def keyframe_joint_positions(self):
        """Return the configured joints' angles in the configured keyframe (standing)."""
        key = self._id(mujoco.mjtObj.mjOBJ_KEY, self.config.keyframe)
        return self.model.key_qpos[key][self.qpos_ids].copy()

    def joints_moving_site(self, site_name):
        """Boolean mask over the configured joints: those whose motion moves the site."""
        ancestors, body = set(), self.model.site_bodyid[self.site_id(site_name)]
        while body != self.base_body and body > 0:
            ancestors.add(int(body))
            body = self.model.body_parentid[body]
        return np.array([int(b) in ancestors for b in self._joint_bodies])

    def set_pose(self, root_position, root_orientation, joint_positions):
        """Load a pose into the private MjData and run position kinematics."""
        data = self.data
        data.qpos[:] = self.model.qpos0
        data.qpos[self.root_qpos:self.root_qpos + 3] = root_position
        data.qpos[self.root_qpos + 3:self.root_qpos + 7] = root_orientation
        data.qpos[self.qpos_ids] = joint_positions
        mujoco.mj_kinematics(self.model, data)
        mujoco.mj_comPos(self.model, data)

    def site_positions(self, site_names):
        """World positions (k, 3) of sites in the pose last set."""
        return self.data.site_xpos[[self.site_id(n) for n in site_names]].copy()

    def body_frame_site_positions(self, joint_positions, site_names):
        """Positions (T, k, 3) of sites in the base body frame for each row of joint angles."""
        out = np.empty((len(joint_positions), len(site_names), 3))
        for k, joints in enumerate(np.asarray(joint_positions, dtype=float)):
            # The base body frame is the world frame when the root sits at the origin.
            self.set_pose(np.zeros(3), (1.0, 0.0, 0.0, 0.0), joints)
            out[k] = self.site_positions(site_names)
        return out

    def solve_ik(self, root_position, root_orientation, joints, targets, nominal=None,
                 null_space_gain=0.0, damping=1e-3, limit_margin=0.005, iterations=400,
                 tolerance=1e-8):
        """
        Move the joints that carry the target sites so the sites reach their targets.

        Damped least squares on MuJoCo's site Jacobians, starting from ``joints`` (warm start)
        and clamped inside the joint limits by ``limit_margin`` after every step. With
        ``nominal``, the redundant directions pull towards it at ``null_space_gain`` per
        iteration. ``targets`` maps site names to world positions. Returns the joint angles
        and the largest remaining site error in metres.
        """
        names = list(targets)
        goal = np.concatenate([np.asarray(targets[n], dtype=float) for n in names])
        active = np.any([self.joints_moving_site(n) for n in names], axis=0)
        dofs = self.dof_ids[active]
        low = self.joint_limits[active, 0] + limit_margin
        high = self.joint_limits[active, 1] - limit_margin
        joints = np.array(joints, dtype=float)
        site_ids = [self.site_id(n) for n in names]
        jacobian = np.zeros((3, self.model.nv))
        for _ in range(iterations):
            self.set_pose(root_position, root_orientation, joints)
            error = goal - self.data.site_xpos[site_ids].ravel()
            rows = []
            for site in site_ids:
                mujoco.mj_jacSite(self.model, self.data, jacobian, None, site)
                rows.append(jacobian[:, dofs].copy())
            stacked = np.concatenate(rows)
            gram = stacked @ stacked.T + damping ** 2 * np.eye(len(goal))
            pseudo_inverse = stacked.T @ np.linalg.solve(gram, np.eye(len(goal)))
            step = pseudo_inverse @ error
            if nominal is not None:
                projector = np.eye(len(dofs)) - pseudo_inverse @ stacked
                step += projector @ (null_space_gain * (nominal[active] - joints[active]))
            joints[active] = np.clip(joints[active] + step, low, high)
            if np.max(np.abs(error)) < tolerance and np.max(np.abs(step)) < tolerance:
                break
        self.set_pose(root_position, root_orientation, joints)
        residual = self.data.site_xpos[site_ids] - goal.reshape(-1, 3)
        return joints, float(np.max(np.linalg.norm(residual, axis=1)))

    def ground_height_of_site(self, site_name):
        """Height of a foot site when its sphere rests on the floor (the sphere's radius)."""
        site = self.site_id(site_name)
        body = self.model.site_bodyid[site]
        for geom in range(self.model.ngeom):
            if self.model.geom_bodyid[geom] == body and \
                    int(self.model.geom_type[geom]) == int(mujoco.mjtGeom.mjGEOM_SPHERE) and \
                    np.allclose(self.model.geom_pos[geom], self.model.site_pos[site]):
                return float(self.model.geom_size[geom, 0])
        raise ValueError(f"site '{site_name}' is not at the centre of a sphere geom")

    # -- clearance ------------------------------------------------------------------------------

    def robot_geom_pairs(self):
        """
        Robot geom pairs that must not overlap: different bodies, not parent and child.

        Geoms on one body, or on a body and its parent, overlap by construction at the joints
        (as in MuJoCo's own parent filter); every other pair is a real collision.
        """
        model = self.model
        geoms = [g for g in range(model.ngeom) if model.geom_bodyid[g] != 0]
        pairs = []
        for i, a in enumerate(geoms):
            for b in geoms[i + 1:]:
                body_a, body_b = model.geom_bodyid[a], model.geom_bodyid[b]
                if body_a != body_b and model.body_parentid[body_a] != body_b and \
                        model.body_parentid[body_b] != body_a:
                    pairs.append((a, b))
        return np.array(pairs)

    def clearances(self, root_positions, root_orientations, joint_positions, pairs=None):
        """
        Per frame: the smallest distance between non-adjacent robot geoms, and to the floor.

        Returns two (T,) arrays in metres, capped at CLEARANCE_CAP; negative values are
        penetrations.
        """
        model, data = self.model, self.data
        pairs = self.robot_geom_pairs() if pairs is None else pairs
        floors = [g for g in range(model.ngeom) if model.geom_bodyid[g] == 0
                  and int(model.geom_type[g]) == int(mujoco.mjtGeom.mjGEOM_PLANE)]
        robot = np.array([g for g in range(model.ngeom) if model.geom_bodyid[g] != 0])
        self_distance = np.full(len(joint_positions), np.inf)
        floor_distance = np.full(len(joint_positions), np.inf)
        for k, joints in enumerate(joint_positions):
            self.set_pose(root_positions[k], root_orientations[k], joints)
            # Bounding spheres skip pairs that are certainly far apart.
            gap = np.linalg.norm(data.geom_xpos[pairs[:, 0]] - data.geom_xpos[pairs[:, 1]],
                                 axis=1) - model.geom_rbound[pairs[:, 0]] - \
                model.geom_rbound[pairs[:, 1]]
            self_distance[k] = CLEARANCE_CAP
            for a, b in pairs[gap < CLEARANCE_CAP]:
                self_distance[k] = min(self_distance[k], mujoco.mj_geomDistance(
                    model, data, a, b, CLEARANCE_CAP, None))
            for floor in floors:
                for geom in robot:
                    floor_distance[k] = min(floor_distance[k], mujoco.mj_geomDistance(
                        model, data, floor, geom, 1.0, None))
        return self_distance, floor_distance
