"""
Reference-state starts that stand on the model's own floor (``env.start_on_floor``).

A clip's root height belongs to the model it was made on. Put on a model with other leg
lengths or foot radii, the reference pose sinks the feet into the floor or hangs them above it,
and the first physics step kicks or drops the robot: a start no robot would be in.

With ``start_on_floor`` the root height of each reference start is set so the lowest foot has
the clearance the clip gives it at that phase: the lowest foot's height at the phase minus its
lowest height over the whole clip (0 in stance, the flight height in a hop's flight phase).
Clearance on the model is the signed distance from each foot geom to the floor (MuJoCo's
mj_geomDistance: the foot's own shape and radius included), read at the reference pose.
Joint angles, orientation and velocities stay the reference's.

The switch is decided once, in make_reference_start: without ``start_on_floor`` the environment
holds a :class:`ClipHeightStart`, which resets to the reference pose as it is.
"""

from lpn_controller.rotations import rotate_into_world
import mujoco
import numpy as np
from sim_bridge.physics import foot_geoms

SEARCH_DISTANCE_M = 2.0   # feet further than this from the floor are not a start


class ClipHeightStart:
    """Reference starts at the clip's own root height (``env.start_on_floor`` off)."""

    def place(self, simulator, reference, row, pose):
        """
        Reset ``simulator`` to row ``row`` of ``reference``.

        ``pose``: Simulator.reset_to_pose's arguments after the root position (orientation,
        joint positions, root linear and angular velocity, joint velocities).
        """
        simulator.reset_to_pose(reference.root_position[row], *pose)


class FloorStart(ClipHeightStart):
    """Root heights that put a reference start's lowest foot at its clip clearance."""

    def __init__(self, clip, model, robot):
        """``clip``: the env's Clip; ``model``: one environment's model of ``robot``."""
        feet = len(robot.foot_sites)
        if feet == 0 or clip.end_effector_positions is None:
            raise ValueError(f'env.start_on_floor needs the foot_sites of {robot.source} and '
                             "the clip's end-effector positions")
        self.num_feet = feet
        self.feet = foot_geoms(model, robot)
        self.floor = [g for g in range(model.ngeom) if model.geom_bodyid[g] == 0]
        self.lowest_over_clip = float(self._lowest_foot(clip.root_position,
                                                        clip.root_orientation,
                                                        clip.end_effector_positions).min())

    def _lowest_foot(self, root_position, root_orientation, end_effectors):
        feet = np.asarray(end_effectors)[..., :self.num_feet, :]
        world = np.asarray(root_position)[..., None, :] + rotate_into_world(
            np.asarray(root_orientation)[..., None, :], feet)
        return world[..., 2].min(axis=-1)

    def clearance(self, reference):
        """Return how high the lowest foot is above its lowest (m, >= 0), per reference row."""
        lowest = self._lowest_foot(reference.root_position, reference.root_orientation,
                                   reference.end_effector_positions)
        return np.maximum(lowest - self.lowest_over_clip, 0.0)

    def floor_distance(self, simulator):
        """Return the smallest signed distance (m) from a foot geom to the floor, now."""
        model, data = simulator.model, simulator.data
        return min(mujoco.mj_geomDistance(model, data, foot, floor, SEARCH_DISTANCE_M, None)
                   for foot in self.feet for floor in self.floor)

    def root_position(self, simulator, reference, row):
        """
        Find where the root goes for the reset simulator's lowest foot to be at its clearance.

        ``simulator`` was just reset to row ``row`` of ``reference`` (its pose is read here).
        """
        distance = self.floor_distance(simulator)
        if distance >= SEARCH_DISTANCE_M:
            raise ValueError(f'no foot of {simulator.config.source} lies within '
                             f'{SEARCH_DISTANCE_M} m of the floor at the reference pose')
        target = float(self.clearance(reference)[row])
        return reference.root_position[row] + np.array([0.0, 0.0, target - distance])

    def place(self, simulator, reference, row, pose):
        """Reset to the reference pose, then again with the root at its floor height."""
        super().place(simulator, reference, row, pose)
        simulator.reset_to_pose(self.root_position(simulator, reference, row), *pose)


def make_reference_start(start_on_floor, clip, model, robot):
    """Return the reference start of ``env.start_on_floor`` (on the floor, or the clip's)."""
    return FloorStart(clip, model, robot) if start_on_floor else ClipHeightStart()
