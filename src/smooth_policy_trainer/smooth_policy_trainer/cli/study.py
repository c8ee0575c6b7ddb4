"""
The smoothness study: every method trained to its clip's world targets, here or on a cluster.

    python -m smooth_policy_trainer.study [--tasks trot_arm_wave hop] [--methods mlp lpn ...]
        [--seeds 0 1] [--iterations 3000] [--eval-every 50] [--eval-episodes 8]
        [--eval-seconds 10] [--num-envs 64] [--config lpn_trot_arm_wave] [--base-set ...]
        [--set key=value ...] [--out runs/study] [--train-past-target]
        [--cpus-per-run 1] [--gpus-per-run 0] [--address auto|HOST:PORT | --local [--parallel N]]
        [--report-only] [--results docs/results.md --section NAME]

Methods x tasks x seeds (study_grid: METHODS, TASKS), each run from one base config (--config
with --base-set, then the task's overrides, the method's switches and --set). Each run trains
until a periodic deterministic evaluation (every --eval-every iterations, the exported policy
through the numpy runtime) meets its clip's world targets, or to the cap --iterations
(study_run.py). Each run is a Ray task asking for --cpus-per-run CPUs and --gpus-per-run GPUs:
``--address auto`` or ``HOST:PORT`` joins a running Ray cluster (``ray start --head`` on one
machine, ``ray start --address HEAD:6379`` on the others); without --address the study starts
an embedded Ray on this machine; ``--local`` runs plain subprocesses instead, --parallel at a
time (default: the CPUs over --cpus-per-run). The PPO trainer computes on the CPU; a GPU request
only reserves the device.

Each run's record is written as soon as it ends, atomically, to
``<out>/results/<task>/<method>/seed<seed>.json`` (small: commit these); its working files
(checkpoints, evaluations, policies, log) go to ``<out>/runs/<task>/<method>/seed<seed>/``. A
study that is started again skips every run whose record reached the target or ran to at least
this cap, resumes unfinished runs from their last checkpoint (where the node sees the same
``--out``), and rebuilds the report (``<out>/report/``: report.md, summary.json, plots) from all
the records present, finished in this sitting or before.
"""

import argparse
from concurrent.futures import as_completed, ThreadPoolExecutor
import json
import os
from pathlib import Path
import platform
import signal
import subprocess
import sys
import threading
import time

from smooth_policy_trainer.evaluation.study_grid import (BASE_CONFIG, BASE_OVERRIDES, check_grid,
                                                         METHODS, run_name, TASKS)
from smooth_policy_trainer.runners.study_run import write_json_atomically


def _die_with_parent():
    # A run whose study (or Ray worker) died must not train on unseen: Linux sends it SIGTERM,
    # which saves a checkpoint and exits.
    try:
        import ctypes
        ctypes.CDLL('libc.so.6', use_errno=True).prctl(1, signal.SIGTERM)   # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass


# The runs this process has started and not yet seen end (run_locally's threads add them).
_RUNNING = set()
_RUNNING_LOCK = threading.Lock()


def stop_running_runs():
    """Send SIGTERM to every run still going: each saves a checkpoint and exits (status 130)."""
    with _RUNNING_LOCK:
        for process in _RUNNING:
            if process.poll() is None:
                process.terminate()


def run_in_subprocess(spec):
    """
    Run one study run in its own process; returns its record (raises RuntimeError on failure).

    The same function runs the run locally and inside a Ray task. Its log goes to
    ``<run_dir>/train.log``; the record also stays in ``<run_dir>/record.json``.
    """
    run_dir = Path(spec['run_dir'])
    run_dir.mkdir(parents=True, exist_ok=True)
    spec_path = write_json_atomically(run_dir / 'spec.json', spec)
    record_path = run_dir / 'record.json'
    if record_path.exists():
        record_path.unlink()
    log_path = run_dir / 'train.log'
    command = [sys.executable, '-m', 'smooth_policy_trainer.runners.study_run', str(spec_path),
               str(record_path)]
    with open(log_path, 'a') as log:
        process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT,
                                   preexec_fn=_die_with_parent if os.name == 'posix' else None)
        with _RUNNING_LOCK:
            _RUNNING.add(process)
        try:
            code = process.wait()
        finally:
            with _RUNNING_LOCK:
                _RUNNING.discard(process)
    if code != 0 or not record_path.is_file():
        tail = log_path.read_text().splitlines()[-5:] if log_path.is_file() else []
        raise RuntimeError(f"{spec['name']}: the run exited with status {code} on "
                           f'{platform.node()}; see {log_path}' +
                           ''.join(f'\n  {line}' for line in tail))
    return json.loads(record_path.read_text())


def parse_args(argv=None):
    """Parse and check the command line."""
    parser = argparse.ArgumentParser(prog='study', description=__doc__.split('\n\n')[0].strip())
    grid = parser.add_argument_group('grid')
    grid.add_argument('--tasks', nargs='+', default=list(TASKS), metavar='TASK')
    grid.add_argument('--methods', nargs='+', default=list(METHODS), metavar='METHOD',
                      help=f"any of: {', '.join(METHODS)}")
    grid.add_argument('--seeds', nargs='+', type=int, default=[0, 1])
    grid.add_argument('--iterations', type=int, default=3000,
                      help='the cap: PPO iterations a run may take to reach its targets')
    grid.add_argument('--eval-every', type=int, default=50, help='iterations between evaluations')
    grid.add_argument('--eval-episodes', type=int, default=8)
    grid.add_argument('--eval-seconds', type=float, default=10.0)
    grid.add_argument('--num-envs', type=int, default=64)
    grid.add_argument('--config', default=BASE_CONFIG, help='base config (file or shipped name)')
    grid.add_argument('--base-set', nargs='*', default=list(BASE_OVERRIDES), metavar='KEY=VALUE',
                      help='overrides of the base config for every run (default: the shipped '
                      "policies' formulation; give none to train the config as it is)")
    grid.add_argument('--set', dest='extra', action='append', default=[], metavar='KEY=VALUE',
                      help='one more override for every run, after the method switches')
    grid.add_argument('--train-past-target', action='store_true',
                      help='train every run to the cap, recording where it met the targets')
    grid.add_argument('--curve-every', type=int, default=10,
                      help='iterations between learning-curve points')
    grid.add_argument('--checkpoint-every', type=int, default=50)
    where = parser.add_argument_group('where the runs go')
    where.add_argument('--out', type=Path, default=Path('runs/study'))
    where.add_argument('--cpus-per-run', type=float, default=1.0)
    where.add_argument('--gpus-per-run', type=float, default=0.0)
    where.add_argument('--address', help="join a Ray cluster: 'auto' or HOST:PORT of its head")
    where.add_argument('--local', action='store_true', help='plain subprocesses, no Ray')
    where.add_argument('--parallel', type=int, help='--local: runs at a time')
    report = parser.add_argument_group('report')
    report.add_argument('--report-only', action='store_true',
                        help='train nothing: rebuild the report from the records in --out')
    report.add_argument('--results', type=Path,
                        help='also write the tables into this markdown file, between markers')
    report.add_argument('--section', default='targets', help='name of that section')
    args = parser.parse_args(argv)
    try:
        check_grid(args.tasks, args.methods)
    except ValueError as error:
        parser.error(str(error))
    for name in ('iterations', 'eval_every', 'eval_episodes', 'num_envs', 'curve_every',
                 'checkpoint_every'):
        if getattr(args, name) < 1:
            parser.error(f"--{name.replace('_', '-')} must be at least 1")
    if args.eval_seconds < 1.0:
        parser.error('--eval-seconds must be at least 1')
    if args.cpus_per_run <= 0 or args.gpus_per_run < 0:
        parser.error('--cpus-per-run must be positive and --gpus-per-run at least 0')
    if args.local and args.address:
        parser.error('--local runs without Ray; it cannot join --address')
    if args.parallel is not None and (not args.local or args.parallel < 1):
        parser.error('--parallel N (N >= 1) goes with --local; Ray places runs by resources')
    return args


def run_spec(args, task, method, seed):
    """Return the JSON-ready spec of one run (what study_run.StudyRun reads)."""
    name = run_name(task, method, seed)
    overrides = [*args.base_set, *TASKS[task].overrides, *METHODS[method][1],
                 f'env.clip={task}', f'env.seed={seed}', f'run.seed={seed}',
                 f'env.num_envs={args.num_envs}', 'run.eval_every=0', *args.extra]
    return {'name': name, 'task': task, 'method': method, 'seed': seed,
            'run_dir': str((args.out / 'runs' / name).resolve()),
            'config': args.config, 'overrides': overrides, 'cap': args.iterations,
            'eval_every': args.eval_every, 'eval_episodes': args.eval_episodes,
            'eval_seconds': args.eval_seconds, 'curve_every': args.curve_every,
            'checkpoint_every': args.checkpoint_every,
            'train_past_target': args.train_past_target}


def record_path(out, name):
    """Return where a run's record goes: <out>/results/<task>/<method>/seed<seed>.json."""
    return Path(out) / 'results' / f'{name}.json'


def is_finished(path, cap):
    """Return whether the record at ``path`` needs no more training under this cap."""
    try:
        record = json.loads(Path(path).read_text())
    except (OSError, ValueError):
        return False
    return bool(record.get('reached')) or record.get('cap_iterations', 0) >= cap


def pending_specs(args):
    """Return the specs of the runs still to train, seed-major, and the number skipped."""
    # Seed-major: a study stopped early has every method of every task, on fewer seeds.
    specs = [run_spec(args, task, method, seed) for seed in args.seeds for task in args.tasks
             for method in args.methods]
    todo = [spec for spec in specs
            if not is_finished(record_path(args.out, spec['name']), args.iterations)]
    return todo, len(specs) - len(todo)


def run_locally(specs, parallel, finished):
    """Run the specs as subprocesses, ``parallel`` at a time; ``finished(spec, record, error)``."""
    pool = ThreadPoolExecutor(max_workers=parallel)
    try:
        futures = {pool.submit(run_in_subprocess, spec): spec for spec in specs}
        for future in as_completed(futures):
            error = future.exception()
            finished(futures[future], None if error else future.result(), error)
    except KeyboardInterrupt:
        # Ctrl-C reaches the runs too, a SIGTERM to the study alone does not: pass it on, so
        # each running run saves a checkpoint and exits, and start no queued one.
        stop_running_runs()
        pool.shutdown(wait=True, cancel_futures=True)
        raise
    finally:
        pool.shutdown(wait=True)


def run_on_ray(specs, args, finished):
    """Run each spec as a Ray task with its resource request; ``finished`` as in run_locally."""
    try:
        import ray   # only here: the trainer imports and --local runs without Ray
    except ImportError:
        raise RuntimeError('the study runs on Ray unless --local: pip install ray (pinned in '
                           'requirements.txt), or pass --local') from None
    if args.address:
        try:
            ray.init(address=args.address, logging_level='WARNING')
        except (ConnectionError, RuntimeError) as error:
            raise RuntimeError(
                f'cannot join the Ray cluster at {args.address}: {str(error).splitlines()[-1]} '
                '(is `ray start --head` running there? A cluster with token authentication '
                'needs RAY_AUTH_MODE=token and its token here: ray get-auth-token)') from None
    else:
        # 'local': a new Ray of our own, even where `ray start` left a cluster address behind
        # (ray.init() would join it, or wait on it when it is gone).
        ray.init(address='local', include_dashboard=False, logging_level='WARNING')
    try:
        print(f"ray: {ray.cluster_resources().get('CPU', 0):g} CPUs, "
              f"{ray.cluster_resources().get('GPU', 0):g} GPUs in the cluster", flush=True)
        # A run whose worker or node dies is started again (from its checkpoint where the node
        # sees the same --out); a run that fails by itself is not.
        task = ray.remote(run_in_subprocess).options(num_cpus=args.cpus_per_run,
                                                     num_gpus=args.gpus_per_run, max_retries=2)
        waiting = {task.remote(spec): spec for spec in specs}
        while waiting:
            (done,), _ = ray.wait(list(waiting), num_returns=1)
            spec = waiting.pop(done)
            try:
                finished(spec, ray.get(done), None)
            except Exception as error:   # a failed run (its log says why), or a lost node
                finished(spec, None, error)
    finally:
        ray.shutdown()


def _interrupt(signum, frame):
    raise KeyboardInterrupt


def main(argv=None):
    """Run the study, then build its report; returns the exit status."""
    args = parse_args(argv)
    from smooth_policy_trainer.evaluation.study_report import build_report   # matplotlib: only now
    failures = []
    if not args.report_only:
        specs, skipped = pending_specs(args)
        print(f'study: {len(specs)} runs to train, {skipped} finished before (skipped); '
              f'records in {args.out / "results"}', flush=True)
        started, count = time.perf_counter(), [0]

        def finished(spec, record, error):
            count[0] += 1
            if error is not None:
                failures.append(spec['name'])
                print(f"[{count[0]}/{len(specs)}] {spec['name']}: failed: {error}", flush=True)
                return
            write_json_atomically(record_path(args.out, spec['name']), record)
            reached = (f"target at {record['time_to_target_s']:.0f} s, "
                       f"{record['iterations_to_target']} iterations" if record['reached']
                       else f"not at target after {record['iterations']} iterations")
            print(f"[{count[0]}/{len(specs)}] {spec['name']}: {reached} "
                  f"({record['s_per_iteration']:.2f} s/it, {record['peak_rss_mib']:.0f} MiB; "
                  f'{(time.perf_counter() - started) / 60:.1f} min into the study)', flush=True)

        if specs:
            signal.signal(signal.SIGTERM, _interrupt)
            try:
                if args.local:
                    parallel = args.parallel or max(1, int((os.cpu_count() or 1) //
                                                           args.cpus_per_run))
                    run_locally(specs, parallel, finished)
                else:
                    run_on_ray(specs, args, finished)
            except RuntimeError as error:
                print(f'study: error: {error}', file=sys.stderr)
                return 2
            except KeyboardInterrupt:
                print(f'study: interrupted; {count[0]} of {len(specs)} runs ended. Run the same '
                      'command again to skip the finished runs and resume the others from '
                      'their checkpoints', file=sys.stderr)
                return 130
    paths = build_report(args.out, args.results, args.section)
    print(f"study: report in {paths['report']}" +
          (f' and {args.results}' if args.results else ''), flush=True)
    if failures:
        print(f"study: {len(failures)} runs failed: {', '.join(failures)}", file=sys.stderr)
        return 1
    return 0


if __name__ == '__main__':
    sys.exit(main())
