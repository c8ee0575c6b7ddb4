"""
Which robot model a simulation launch runs, and the node parameters that follow from it.

``robot:=`` names a sim_bridge robot configuration: empty for the packaged quadruped with arm,
the name of a profile shipped in ``sim_bridge/model`` (``menagerie_spot_arm``), or a path to a
YAML of one's own. The configuration is loaded, and so checked against its model, before a node
starts; its ``joint_map`` (policy joint name -> model joint name) becomes the controller's
``joint_remap``, checked with the controller's own JointMap against the policy's joints, so a
robot whose joints the policy cannot drive is refused at launch with the names.
"""

from lpn_controller.joint_map import JointMap, JointMapError
from sim_bridge.config import ConfigError, load_config, robot_config_path


class SimRobotError(ValueError):
    """The robot argument names no usable configuration, or one the policy cannot drive."""


def resolve_robot_config(robot):
    """Return the robot configuration file ``robot`` names (None: the packaged robot)."""
    try:
        return robot_config_path(robot)
    except ConfigError as error:
        raise SimRobotError(f'robot: {error}') from None


def sim_robot_parameters(robot, policy_joint_names):
    """
    Return (bridge parameters, controller parameters) for ``robot`` driving a policy.

    Loads the configuration (every name in it is checked against its model) and maps the
    policy's joints onto the model's through the configuration's ``joint_map``.
    """
    path = resolve_robot_config(robot)
    try:
        config = load_config(path)
    except ConfigError as error:
        raise SimRobotError(f'robot: {error}') from None
    try:
        joint_map = JointMap(policy_joint_names, config.joint_map)
        joint_map.indices_in(config.joint_names)
    except JointMapError as error:
        raise SimRobotError(f'robot: {config.source}: the policy cannot drive this model: '
                            f'{error}') from None
    bridge = {'robot_config': str(path)} if path is not None else {}
    controller = {}
    remap = [f'{policy}:{model}' for policy, model in config.joint_map.items()
             if policy != model]
    if remap:  # an empty list cannot be typed as a ROS parameter; unset means no renames
        controller['joint_remap'] = remap
    return bridge, controller
