"""
Mapping between the policy's joint order (from its metadata) and the robot's joint names.

By default a policy joint has the same name on the robot; a remap renames some of them
(``'policy_name:robot_name'`` entries). Incoming JointState messages may list joints in any
order and may hold extra joints; every policy joint must be present.
"""

from typing import Dict, Iterable, Mapping, Optional, Sequence, Tuple

import numpy as np


class JointMapError(ValueError):
    """The joint names do not line up; the message lists the offending names."""


def parse_joint_remap(entries: Iterable[str]) -> Dict[str, str]:
    """
    Parse ``['policy_name:robot_name', ...]`` into a dict; blank entries are ignored.

    ``policy_name=robot_name`` is read the same way (the first ':' or else '=' separates).
    """
    remap = {}
    for entry in entries:
        entry = entry.strip()
        if not entry:
            continue
        policy_name, separator, robot_name = entry.partition(':' if ':' in entry else '=')
        policy_name, robot_name = policy_name.strip(), robot_name.strip()
        if not separator or not policy_name or not robot_name:
            raise JointMapError(f'joint remap entry {entry!r} is not "policy_name:robot_name"')
        if policy_name in remap:
            raise JointMapError(f'joint remap names policy joint {policy_name!r} twice')
        remap[policy_name] = robot_name
    return remap


class JointMap:
    """Policy-order joint names, their robot names, and index maps to and from messages."""

    def __init__(self, policy_joint_names: Sequence[str],
                 remap: Optional[Mapping[str, str]] = None):
        """Check the remap against the policy joints; robot names must stay unique."""
        self.policy_joint_names: Tuple[str, ...] = tuple(policy_joint_names)
        remap = dict(remap or {})
        unknown = sorted(set(remap) - set(self.policy_joint_names))
        if unknown:
            raise JointMapError(
                f'joint remap names joints the policy does not have: {", ".join(unknown)} '
                f'(policy joints: {", ".join(self.policy_joint_names)})')
        self.robot_joint_names: Tuple[str, ...] = tuple(
            remap.get(name, name) for name in self.policy_joint_names)
        duplicates = sorted({name for name in self.robot_joint_names
                             if self.robot_joint_names.count(name) > 1})
        if duplicates:
            raise JointMapError(
                f'after remapping, several policy joints map to robot joint(s) '
                f'{", ".join(duplicates)}')
        self._robot_index = {name: index for index, name in enumerate(self.robot_joint_names)}
        self._cache: Dict[Tuple[str, ...], np.ndarray] = {}

    @property
    def num_joints(self) -> int:
        """Return the number of policy joints."""
        return len(self.policy_joint_names)

    def indices_in(self, robot_names: Sequence[str]) -> np.ndarray:
        """
        Return, for each policy joint, its index in ``robot_names`` (e.g. a message's names).

        Cached per name list, since a robot sends the same list every time.
        """
        key = tuple(robot_names)
        indices = self._cache.get(key)
        if indices is None:
            position = {name: index for index, name in enumerate(key)}
            missing = [name for name in self.robot_joint_names if name not in position]
            if missing:
                raise JointMapError(
                    f'robot joint names lack policy joint(s) {", ".join(missing)}; got '
                    f'{", ".join(key) or "no names"} (set the joint_remap parameter to rename)')
            indices = np.array([position[name] for name in self.robot_joint_names],
                               dtype=np.intp)
            if len(self._cache) < 8:
                self._cache[key] = indices
        return indices

    def to_policy_order(self, robot_names: Sequence[str], values: Sequence[float]) -> np.ndarray:
        """Return ``values`` (listed in ``robot_names`` order) in policy joint order."""
        if len(values) != len(robot_names):
            raise JointMapError(f'{len(robot_names)} joint names but {len(values)} values')
        return np.asarray(values, dtype=np.float64)[self.indices_in(robot_names)]

    def output_indices(self, robot_names: Sequence[str]) -> np.ndarray:
        """
        Return indices into policy-order values giving ``robot_names`` order.

        For a fixed-order output such as a ros2_control forward controller's
        Float64MultiArray: ``output = policy_values[indices]``. The names must be known robot
        joints, without repeats; a subset is allowed (e.g. a legs-only controller).
        """
        unknown = [name for name in robot_names if name not in self._robot_index]
        if unknown:
            raise JointMapError(
                f'output joint order names unknown joint(s) {", ".join(unknown)}; known robot '
                f'joints: {", ".join(self.robot_joint_names)}')
        if len(set(robot_names)) != len(robot_names):
            raise JointMapError('output joint order lists a joint twice')
        return np.array([self._robot_index[name] for name in robot_names], dtype=np.intp)
