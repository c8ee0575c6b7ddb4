"""
The demo without ROS (``make demo``): a smooth LPN policy against an unregularised MLP.

    python -m quadruped_arm_bringup.demo [--seconds 20] [--output demo_output]
        [--lpn PATH] [--mlp PATH] [--seed 0] [--no-plots] [--no-video] [--video-fps 15]

Runs the shipped LPN policy (action Jacobian penalty) and the shipped unregularised MLP policy,
both trained on the same clip, closed loop on the simulated robot for the same sim time, through
the library cores the ROS nodes use (see closed_loop.py). Each run is recorded to an MCAP bag
with the topics and message types a ROS run records, which ``ros2 bag info`` and ``ros2 bag
play`` open. Then the bag analysis (``lpn_controller.analyze``) reads both bags and prints the
smoothness comparison, beside what each robot did in the world (speed along and across its
heading against the clip's, heading drift); the report and the plots go next to the bags, and a
video of the two robots side by side (rendered offscreen, see video.py) into ``demo.mp4``.
"""

import argparse
from pathlib import Path
import shutil
import sys
import time

from lpn_controller.analyze import AnalysisConfig, analyze_bags, format_table, write_outputs
from lpn_controller.bags import BagError, BagWriter
from lpn_controller.joint_map import parse_joint_remap
from lpn_controller.policy_format import load_policy
from lpn_controller.policy_metadata import PolicyFormatError
import numpy as np
from quadruped_arm_bringup.closed_loop import ACTION_TOPIC, run_closed_loop
from quadruped_arm_bringup.policy_selection import shipped_policy_path
from quadruped_arm_bringup.video import (DEFAULT_FPS, FrameRecorder, render_video,
                                         save_trajectories, VideoError)
from sim_bridge.config import robot_config_path
from smooth_policy_trainer.evaluation.world_figures import net_motion
from smooth_policy_trainer.motion.clips import load_shipped_clip

PACKAGE = 'quadruped_arm_bringup'
CLIP = 'trot_arm_wave'  # both shipped policies imitate it: lpn_trot_arm_wave, mlp_trot_arm_wave
DEFAULT_OUTPUT = 'demo_output'
DEFAULT_SECONDS = 20.0
# What a bag directory written by BagWriter holds; anything else in it is not ours to delete.
_BAG_FILE_SUFFIXES = ('.yaml', '.mcap', '.db3')


def policies_dir() -> Path:
    """Return the shipped policies' folder: the source tree, else the installed share folder."""
    source_tree = Path(__file__).resolve().parents[1] / 'policies'
    if source_tree.is_dir():
        return source_tree
    try:  # an installed (colcon) workspace keeps the policies in the package's share folder
        from ament_index_python.packages import get_package_share_directory
        return Path(get_package_share_directory(PACKAGE)) / 'policies'
    except (ImportError, LookupError):
        return source_tree


def remove_old_bag(path: Path):
    """Delete a bag an earlier demo wrote at ``path``; refuse anything that is not one."""
    if not path.exists():
        return
    if not path.is_dir() or not (path / 'metadata.yaml').exists() or any(
            entry.is_dir() or entry.suffix not in _BAG_FILE_SUFFIXES for entry in path.iterdir()):
        raise BagError(f'{path} exists and is not a bag an earlier demo wrote; move it away or '
                       'choose another --output')
    shutil.rmtree(path)


def load_policies(paths):
    """
    Load the policies, given as role -> path.

    A missing policy, or two that imitate different clips, is refused with a message that
    says what to do.
    """
    policies = {}
    for role, path in paths.items():
        if not path.exists():
            raise FileNotFoundError(
                f'{role.upper()} policy {path} does not exist; export one with `python -m '
                f'smooth_policy_trainer.export --run RUN --output DIR` and pass --{role} DIR')
        policies[role] = load_policy(path)
    clips = {role: policy.metadata.motion_clip for role, policy in policies.items()}
    if len(set(clips.values())) > 1:
        raise ValueError(f'the policies imitate different clips ({clips}); the comparison needs '
                         'policies trained on the same clip')
    return policies


def run_policy(role: str, policy, bag_path: Path, seconds: float, seed: int,
               recorder: FrameRecorder, robot_config=None, joint_remap=None):
    """Run one policy closed loop into a fresh bag; print and return its RolloutResult."""
    metadata = policy.metadata
    print(f'{role}: {metadata.kind} policy {policy.source} (clip {metadata.motion_clip!r}), '
          f'{seconds:g} s of simulated time ...', flush=True)
    remove_old_bag(bag_path)
    with BagWriter(bag_path, storage='mcap') as bag:
        result = run_closed_loop(policy, seconds, bag, seed=seed, on_tick=recorder,
                                 robot_config=robot_config, joint_remap=joint_remap)
    engaged = ('never engaged' if result.policy_engaged_s is None
               else f'engaged at {result.policy_engaged_s:.2f} s')
    outcome = 'stayed up' if result.stayed_up else f'ended in {result.final_mode}'
    dx, dy = result.displacement_m
    print(f'  policy {engaged}, {result.actions} actions, {outcome}; base height >= '
          f'{result.min_base_height_m:.3f} m, tilt <= {result.max_tilt_deg:.1f} deg, moved '
          f'({dx:+.2f}, {dy:+.2f}) m; {result.messages} messages in {bag_path} '
          f'({result.wall_s:.1f} s wall, {seconds / result.wall_s:.1f}x real time)')
    for time_s, mode, reason in result.transitions:
        print(f'    {time_s:6.2f} s  -> {mode}: {reason}')
    for event in result.instabilities:   # the bridge paused: the run stopped there
        print(f'  WARNING: {event}; the run stopped there')
    return result


def world_table(policies, results, recorders) -> str:
    """Return what each robot did in the world while its policy drove it, against the clip."""
    rows = ['| run | forward (m/s) | lateral (m/s) | heading drift (deg/s) | clip forward (m/s) |',
            '| --- | --- | --- | --- | --- |']
    for role, policy in policies.items():
        result, recorder = results[role], recorders[role]
        clip = load_shipped_clip(policy.metadata.motion_clip)
        clip_speed = clip.root_displacement_per_cycle[0] / clip.phase_period_s
        times = np.array(recorder.times)
        driven = times >= (result.policy_engaged_s if result.policy_engaged_s is not None
                           else np.inf)
        if driven.sum() < 2:
            rows.append(f'| {role} | n/a | n/a | n/a | {clip_speed:.2f} |')
            continue
        qpos = np.array(recorder.qpos)[driven]
        motion = net_motion(qpos[:, :3], qpos[:, 3:7], times[driven][-1] - times[driven][0])
        rows.append(f"| {role} | {motion['net_forward_speed_m_s']:+.2f} | "
                    f"{motion['net_lateral_speed_m_s']:+.2f} | "
                    f"{motion['heading_drift_deg_per_s']:+.1f} | {clip_speed:.2f} |")
    return '\n'.join(rows)


def write_video(output: Path, policies, recorders, fps: float):
    """Render the runs side by side to ``output``/demo.mp4; None (and one line) without GL."""
    labels = [f'{role.upper()} ({Path(policy.source).name})' for role, policy in policies.items()]
    trajectories = save_trajectories(output / 'trajectories.npz', list(recorders.values()),
                                     labels, fps)
    print(f'rendering the video ({len(recorders)} runs side by side) ...', flush=True)
    try:
        return render_video(trajectories, output / 'demo.mp4')
    except VideoError as error:
        print(f'video: skipped, {error}')
        return None


def summary(analyses) -> str:
    """Return one sentence comparing the first two bags' HFR and action rate."""
    first, second = (analysis.report['metrics'] for analysis in analyses[:2])
    labels = [analysis.label for analysis in analyses[:2]]
    lines = []
    for name, text in (('hfr', 'HFR (power above the cut-off)'),
                       ('action_rate', 'action rate')):
        a, b = first[name]['value'], second[name]['value']
        ratio = f', {b / a:.1f}x' if a > 0 else ''
        lines.append(f'{text}: {labels[0]} {a:.4g}, {labels[1]} {b:.4g}{ratio}')
    return '; '.join(lines)


def main(argv=None) -> int:
    """Run both policies, analyse the bags, print the comparison; 1 on a problem."""
    parser = argparse.ArgumentParser(prog='demo', description=__doc__.strip().splitlines()[0])
    parser.add_argument('--seconds', type=float, default=DEFAULT_SECONDS,
                        help='simulated seconds per policy, the first 2 s moving to the '
                        'default pose')
    parser.add_argument('--output', default=DEFAULT_OUTPUT, help='folder for bags and plots')
    parser.add_argument('--lpn', type=Path, default=None,
                        help=f'LPN policy (default: the shipped lpn_{CLIP})')
    parser.add_argument('--mlp', type=Path, default=None,
                        help=f'MLP policy (default: the shipped mlp_{CLIP})')
    parser.add_argument('--seed', type=int, default=0)
    parser.add_argument('--robot-config', default='',
                        help='another model: a robot configuration YAML or the name of one '
                        'shipped with sim_bridge (menagerie_spot_arm); default: packaged')
    parser.add_argument('--joint-remap', nargs='*', default=[], metavar='POLICY:ROBOT',
                        help="policy joint names to the robot config's, over its joint_map")
    parser.add_argument('--no-plots', action='store_true')
    parser.add_argument('--no-video', action='store_true', help='skip the side-by-side MP4')
    parser.add_argument('--video-fps', type=float, default=DEFAULT_FPS,
                        help='video frames per second of sim time')
    args = parser.parse_args(argv)
    if not args.seconds > 0:
        parser.error(f'--seconds must be positive, got {args.seconds}')
    if not args.video_fps > 0:
        parser.error(f'--video-fps must be positive, got {args.video_fps}')
    output = Path(args.output)
    paths = {'lpn': args.lpn or shipped_policy_path(policies_dir(), CLIP, 'lpn'),
             'mlp': args.mlp or shipped_policy_path(policies_dir(), CLIP, 'mlp')}
    started = time.perf_counter()
    try:
        policies = load_policies(paths)
        bags = [output / 'bags' / role for role in policies]
        recorders = {role: FrameRecorder(args.video_fps) for role in policies}
        remap = parse_joint_remap(args.joint_remap)
        robot_config = robot_config_path(args.robot_config)
        results = {role: run_policy(role, policy, bag, args.seconds, args.seed, recorders[role],
                                    robot_config, remap)
                   for (role, policy), bag in zip(policies.items(), bags)}
        print('analysing the bags ...', flush=True)
        analyses = analyze_bags(bags, AnalysisConfig(action_topic=ACTION_TOPIC))
        report = write_outputs(analyses, output / 'analysis', plots=not args.no_plots)
        # The renderer compiles the model file as is; another model may lack its meshes.
        video = None if args.no_video or args.robot_config else write_video(
            output, policies, recorders, args.video_fps)
    except (BagError, PolicyFormatError, ValueError, OSError) as error:
        print(f'demo: error: {error}', file=sys.stderr)
        return 1
    print()
    print(format_table(analyses))
    print()
    print('In the world, while the policy drove (net, in the start heading frame):')
    print(world_table(policies, results, recorders))
    print()
    print(summary(analyses))
    print(f'\nbags (open with `ros2 bag info`): {", ".join(str(bag) for bag in bags)}')
    print(f"report: {report['report_path']}")
    plots = [path for analysis in analyses for path in analysis.report.get('plots', {}).values()]
    if report['comparison_plot']:
        plots.insert(0, report['comparison_plot'])
    for path in plots:
        print(f'plot: {path}')
    if video is not None:
        print(f'video: {video}')
    print(f'done in {time.perf_counter() - started:.1f} s')
    return 0


if __name__ == '__main__':
    sys.exit(main())
