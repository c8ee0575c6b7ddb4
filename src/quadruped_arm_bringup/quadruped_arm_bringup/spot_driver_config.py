r"""
Put a policy's trained joint gains on a real Spot: the driver's config-file fragment.

    ros2 run quadruped_arm_bringup spot_driver_config --policy P --output DIR
    python -m quadruped_arm_bringup.spot_driver_config --policy P --output DIR

On Spot the joint PD runs on the robot, with the gains spot_ros2_control passes to its hardware
interface: the ``k_q_p`` and ``k_qd_p`` lists of the driver's ``config_file`` (19 values each in
the driver's joint order, the gripper arm_f1x last). Without them, or with a list of another
length, the driver quietly uses Boston Dynamics' example gains, which differ from the gains the
policies were trained and evaluated with by up to a factor of ten: that robot does not run the
policy that was evaluated. This command writes ``DIR/spot_driver_gains.yaml`` from the policy's
metadata (``pd_gains``; the gripper, which no policy drives, keeps the driver's gains unless
``--gripper-gains`` says otherwise) and prints what it set next to the driver's defaults.
``--merge-into FILE`` copies an existing driver config file (login settings) with the gains
added instead. No controllers YAML is needed: the stock forward_position_controller already
lists the 19 joints the controller sends.

Launch the driver with it (README, robot section)::

    ros2 launch spot_ros2_control spot_ros2_control.launch.py hardware_interface:=robot \\
        config_file:=DIR/spot_driver_gains.yaml
"""

import argparse
from pathlib import Path
import sys
from typing import Dict, List, Sequence, Tuple

from lpn_controller.policy_format import load_policy
from lpn_controller.policy_metadata import PolicyFormatError
import numpy as np
from quadruped_arm_bringup.robot_profile import load_robot_profile, RobotProfileError
import yaml

GAINS_FILE = 'spot_driver_gains.yaml'
# The driver's joint order for a Spot with arm (its hardware description and controllers).
SPOT_ARM_JOINTS = (
    'front_left_hip_x', 'front_left_hip_y', 'front_left_knee',
    'front_right_hip_x', 'front_right_hip_y', 'front_right_knee',
    'rear_left_hip_x', 'rear_left_hip_y', 'rear_left_knee',
    'rear_right_hip_x', 'rear_right_hip_y', 'rear_right_knee',
    'arm_sh0', 'arm_sh1', 'arm_el0', 'arm_el1', 'arm_wr0', 'arm_wr1', 'arm_f1x')
GRIPPER = 'arm_f1x'
# The gains the driver uses when its config file sets none (Boston Dynamics' joint-control
# example values): per leg hip x, hip y, knee; then the arm from shoulder to wrist; the gripper.
_LEG_KQ_P, _LEG_KQD_P = (624.0, 936.0, 286.0), (5.2, 5.2, 2.04)
DRIVER_DEFAULT_KQ_P = _LEG_KQ_P * 4 + (1020.0, 255.0, 204.0, 102.0, 102.0, 102.0, 16.0)
DRIVER_DEFAULT_KQD_P = _LEG_KQD_P * 4 + (10.2, 15.3, 10.2, 2.04, 2.04, 2.04, 0.32)


class DriverConfigError(ValueError):
    """The gains cannot be written or read; the message says why."""


def default_profile_path() -> Path:
    """Return the packaged spot_arm profile: the source tree, else the installed share."""
    source_tree = Path(__file__).resolve().parents[1] / 'config' / 'robots' / 'spot_arm.yaml'
    if source_tree.is_file():
        return source_tree
    try:
        from ament_index_python.packages import get_package_share_directory
        return (Path(get_package_share_directory('quadruped_arm_bringup')) / 'config'
                / 'robots' / 'spot_arm.yaml')
    except (ImportError, LookupError):
        return source_tree


def driver_gains(metadata, joint_names: Dict[str, str],
                 gripper_gains: Tuple[float, float] = (DRIVER_DEFAULT_KQ_P[-1],
                                                       DRIVER_DEFAULT_KQD_P[-1])
                 ) -> Tuple[List[float], List[float]]:
    """
    Return (k_q_p, k_qd_p) in the driver's order from the policy's trained PD gains.

    ``joint_names`` maps policy joints to Spot's (a robot profile's ``joint_names``; unlisted
    joints keep their names). Every Spot joint but the gripper must be a policy joint.
    """
    robot = {joint_names.get(name, name): index
             for index, name in enumerate(metadata.joint_names)}
    missing = [name for name in SPOT_ARM_JOINTS if name != GRIPPER and name not in robot]
    if missing:
        raise DriverConfigError(
            f'the policy drives no {", ".join(missing)}: its joints '
            f'({", ".join(metadata.joint_names)}) do not cover the driver\'s 18 leg and arm '
            'joints')
    extra = sorted(set(robot) - set(SPOT_ARM_JOINTS))
    if extra:
        raise DriverConfigError(f'policy joints {", ".join(extra)} are not Spot joints')
    kq_p = [float(metadata.kp[robot[name]]) if name != GRIPPER else float(gripper_gains[0])
            for name in SPOT_ARM_JOINTS]
    kqd_p = [float(metadata.kd[robot[name]]) if name != GRIPPER else float(gripper_gains[1])
             for name in SPOT_ARM_JOINTS]
    return kq_p, kqd_p


def config_document(kq_p: Sequence[float], kqd_p: Sequence[float], base=None) -> dict:
    """Return a driver config file's content: ``base`` (a loaded file) with the gains set."""
    document = dict(base or {})
    section = document.setdefault('/**', {})
    if not isinstance(section, dict):
        raise DriverConfigError("the driver config file's '/**' entry is not a mapping")
    parameters = section.setdefault('ros__parameters', {})
    if not isinstance(parameters, dict):
        raise DriverConfigError("the driver config file's '/**.ros__parameters' is not a "
                                'mapping')
    parameters['k_q_p'] = [float(value) for value in kq_p]
    parameters['k_qd_p'] = [float(value) for value in kqd_p]
    return document


def read_driver_gains(path) -> Tuple[np.ndarray, np.ndarray]:
    """
    Return the (k_q_p, k_qd_p) the driver would use with config file ``path``.

    ``path`` may be the file or the folder this command wrote. A list that is absent or not
    19 long makes the driver fall back to its defaults, and so it does here.
    """
    path = Path(path).expanduser()   # launch arguments reach here with '~' unexpanded
    if path.is_dir():
        path = path / GAINS_FILE
    try:
        document = yaml.safe_load(path.read_text()) or {}
    except OSError as error:
        raise DriverConfigError(f'cannot read driver config {path}: {error.strerror}') from None
    except yaml.YAMLError as error:
        raise DriverConfigError(f'driver config {path} is not valid YAML: {error}') from None
    # The driver's launch reads the gains from the '/**' section only.
    section = document.get('/**') if isinstance(document, dict) else None
    parameters = section.get('ros__parameters') if isinstance(section, dict) else None
    if not isinstance(parameters, dict):
        raise DriverConfigError(f"driver config {path} has no '/**: ros__parameters:' section, "
                                "which the driver's launch requires")
    gains = []
    for key, default in (('k_q_p', DRIVER_DEFAULT_KQ_P), ('k_qd_p', DRIVER_DEFAULT_KQD_P)):
        values = parameters.get(key)
        ok = isinstance(values, list) and len(values) == len(SPOT_ARM_JOINTS)
        gains.append(np.array(values if ok else default, dtype=float))
    return gains[0], gains[1]


def gains_table(kq_p: Sequence[float], kqd_p: Sequence[float]) -> str:
    """Return a table of the gains set against the driver's defaults, one joint a line."""
    lines = [f'{"joint":<18} {"k_q_p set":>10} {"default":>8} {"k_qd_p set":>11} '
             f'{"default":>8}']
    for name, kp, kp0, kd, kd0 in zip(SPOT_ARM_JOINTS, kq_p, DRIVER_DEFAULT_KQ_P, kqd_p,
                                      DRIVER_DEFAULT_KQD_P):
        lines.append(f'{name:<18} {kp:>10.2f} {kp0:>8.2f} {kd:>11.2f} {kd0:>8.2f}')
    return '\n'.join(lines)


def write_driver_config(policy_path, output, profile_path=None, gripper_gains=None,
                        merge_into=None) -> Tuple[Path, List[float], List[float]]:
    """Write ``output/spot_driver_gains.yaml`` for the policy; return the path and gains."""
    policy = load_policy(policy_path)
    profile = load_robot_profile(profile_path or default_profile_path())
    gripper = gripper_gains or (DRIVER_DEFAULT_KQ_P[-1], DRIVER_DEFAULT_KQD_P[-1])
    kq_p, kqd_p = driver_gains(policy.metadata, profile.joint_names, gripper)
    base = None
    if merge_into is not None:
        try:
            base = yaml.safe_load(Path(merge_into).read_text()) or {}
        except (OSError, yaml.YAMLError) as error:
            raise DriverConfigError(f'cannot read {merge_into}: {error}') from None
        if not isinstance(base, dict):
            raise DriverConfigError(f'{merge_into} is not a ROS parameter file (a mapping)')
    output = Path(output)
    output.mkdir(parents=True, exist_ok=True)
    path = output / GAINS_FILE
    header = (f'# spot_ros2_control config_file: the joint gains policy {policy.source} was '
              f'trained\n# and evaluated with (revision {policy.metadata.git_revision}), in '
              "the driver's joint\n# order, gripper arm_f1x last. Written by "
              'quadruped_arm_bringup.spot_driver_config.\n')
    path.write_text(header + yaml.safe_dump(config_document(kq_p, kqd_p, base),
                                            default_flow_style=None, sort_keys=False))
    return path, kq_p, kqd_p


def gains_notice(metadata, joint_names: Dict[str, str], driver_config: str = '') -> str:
    """
    Return what the launch says about the robot's joint gains; raise on a wrong config file.

    ``driver_config`` is the config file the driver was started with (or this command's
    folder); empty: unknown, and the notice says loudly what running without it means.
    """
    kq_p, kqd_p = driver_gains(metadata, joint_names)
    if not str(driver_config).strip():
        knee = SPOT_ARM_JOINTS.index('front_left_knee')
        return ('!!! JOINT GAINS: driver_config not given. Unless spot_ros2_control was started '
                'with config_file from `ros2 run quadruped_arm_bringup spot_driver_config '
                "--policy P --output DIR`, the robot's joint PD runs the driver's default gains "
                f'(knee kd {DRIVER_DEFAULT_KQD_P[knee]:g} where the policy was trained with '
                f'{kqd_p[knee]:g}, shoulder kp {DRIVER_DEFAULT_KQ_P[12]:g} for {kq_p[12]:g}): '
                'that is NOT the policy that was evaluated. Pass driver_config:=DIR to check. !!!')
    set_kq_p, set_kqd_p = read_driver_gains(driver_config)
    wrong = [name for index, name in enumerate(SPOT_ARM_JOINTS[:-1])
             if not (np.isclose(set_kq_p[index], kq_p[index])
                     and np.isclose(set_kqd_p[index], kqd_p[index]))]
    if wrong:
        raise DriverConfigError(
            f"driver config {driver_config} sets gains other than the policy's trained ones "
            f'for {", ".join(wrong)} (a list not 19 long means the driver defaults): that '
            'robot would not run the evaluated policy; write it with spot_driver_config')
    return f"joint gains: driver config {driver_config} holds the policy's trained gains"


def _pair(text):
    try:
        kp, kd = (float(value) for value in text.split(','))
    except ValueError:
        raise argparse.ArgumentTypeError(f'expected KP,KD (two numbers), got {text!r}') from None
    if not (kp >= 0 and kd >= 0 and np.isfinite(kp) and np.isfinite(kd)):
        raise argparse.ArgumentTypeError(f'gains must be finite and non-negative: {text!r}')
    return kp, kd


def main(argv=None) -> int:
    """Write the gains file and print what it set; exit code 2 on a problem."""
    parser = argparse.ArgumentParser(
        prog='spot_driver_config', description=__doc__.strip().splitlines()[0])
    parser.add_argument('--policy', required=True, help='exported policy directory or archive')
    parser.add_argument('--output', required=True, help='folder to write the config file to')
    parser.add_argument('--robot-profile', default=None,
                        help='robot profile naming Spot joints (default: packaged spot_arm)')
    parser.add_argument('--gripper-gains', type=_pair, default=None, metavar='KP,KD',
                        help="arm_f1x's gains (the policy does not drive it; default: the "
                             "driver's 16,0.32)")
    parser.add_argument('--merge-into', default=None, metavar='FILE',
                        help='an existing driver config file (login settings) to copy with '
                             'the gains added')
    args = parser.parse_args(argv)
    try:
        path, kq_p, kqd_p = write_driver_config(args.policy, args.output, args.robot_profile,
                                                args.gripper_gains, args.merge_into)
    except (DriverConfigError, PolicyFormatError, RobotProfileError, OSError) as error:
        print(f'spot_driver_config: {error}', file=sys.stderr)
        return 2
    print(f"wrote {path}: the policy's trained gains for the driver's joint PD\n")
    print(gains_table(kq_p, kqd_p))
    print('\nNo controllers YAML needed: the stock forward_position_controller lists the 19 '
          'joints the controller sends.')
    print('Start the driver with it:\n  ros2 launch spot_ros2_control spot_ros2_control.launch.py '
          f'hardware_interface:=robot config_file:={path}')
    print("Without it the robot runs the driver's defaults (right-hand columns): that is NOT the "
          "policy that was evaluated. The controller's passive damping is the driver's kd too.")
    return 0


if __name__ == '__main__':
    sys.exit(main())
