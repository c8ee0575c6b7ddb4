"""
Bag analysis throughput: messages per second for a one-hour 50 Hz recording of 18 joints.

Writes, into a temporary folder, an MCAP bag (lpn_controller.bags) holding one hour of the
controller's stamped action (``/lpn_controller/action``) and of ``/joint_states``, both
sensor_msgs/JointState at 50 Hz for the robot's 18 joints (360,000 messages), with a little
stamp jitter. Then times what ``python -m lpn_controller.analyze`` does before plotting:
reading both topics, resampling and every metric (lpn_controller.analyze.analyze_bag), and,
separately, the PNG plots. The last line is ``msgs_per_s=...``: messages read and analysed per
second of wall time (plots excluded).

Run: ``.venv/bin/python bench/bag_analysis.py [--minutes 60] [--storage mcap] [--plots]``
"""

import argparse
from pathlib import Path
import tempfile
import time

from lpn_controller.analyze import analyze_bag, write_outputs
from lpn_controller.bags import BagWriter
import numpy as np
from sim_bridge.config import load_config

RATE_HZ = 50.0
JOINT_NAMES = load_config().joint_names


def write_bag(path: Path, minutes: float, storage: str) -> int:
    """Write the test bag: smooth 1-2 Hz motion plus a little 20 Hz chatter and noise."""
    rng = np.random.default_rng(0)
    steps = int(round(minutes * 60.0 * RATE_HZ))
    frequencies = rng.uniform(0.5, 2.0, len(JOINT_NAMES))
    zeros = np.zeros(len(JOINT_NAMES))
    report_every = max(steps // 6, 1)
    with BagWriter(path, storage=storage) as bag:
        for step in range(steps):
            time_s = step / RATE_HZ + rng.uniform(0.0, 1e-3)
            phase = 2.0 * np.pi * time_s
            action = (0.3 * np.sin(frequencies * phase) + 0.01 * np.sin(20.0 * phase)
                      + 0.002 * rng.standard_normal(len(JOINT_NAMES)))
            bag.write_joint_state('/lpn_controller/action', time_s, JOINT_NAMES, action)
            bag.write_joint_state('/joint_states', time_s, JOINT_NAMES, 0.5 * action, zeros,
                                  zeros)
            if (step + 1) % report_every == 0:
                print(f'  wrote {step + 1}/{steps} steps', flush=True)
        return bag.message_count


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[1])
    parser.add_argument('--minutes', type=float, default=60.0)
    parser.add_argument('--storage', default='mcap', choices=('mcap', 'sqlite3'))
    parser.add_argument('--plots', action='store_true', help='also time the PNG plots')
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as folder:
        bag_path = Path(folder) / 'one_hour'
        print(f'bag_analysis: writing {args.minutes:g} min at {RATE_HZ:g} Hz, '
              f'{len(JOINT_NAMES)} joints, {args.storage} ...', flush=True)
        start = time.perf_counter()
        messages = write_bag(bag_path, args.minutes, args.storage)
        write_s = time.perf_counter() - start
        size = sum(path.stat().st_size for path in bag_path.iterdir())
        print(f'  {messages} messages, {size / 2 ** 20:.1f} MiB, written in {write_s:.1f} s '
              f'({messages / write_s:,.0f} msgs/s)')

        start = time.perf_counter()
        analysis = analyze_bag(bag_path)
        analyse_s = time.perf_counter() - start
        report = analysis.report
        print(f"  read + analysed in {analyse_s:.2f} s: {report['action_topic']} "
              f"f_s = {report['sample_rate_hz']:.4g} Hz, N = {report['window_length']}, "
              f"HFR = {report['metrics']['hfr']['value']:.4g}, jerk = "
              f"{report['metrics']['jerk']['value']:.4g} {report['metrics']['jerk']['unit']}")
        if args.plots:
            start = time.perf_counter()
            write_outputs([analysis], Path(folder) / 'plots')
            print(f'  plots written in {time.perf_counter() - start:.2f} s')
    print(f'msgs_per_s={messages / analyse_s:.0f}')


if __name__ == '__main__':
    main()
