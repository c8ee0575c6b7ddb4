"""
Videos of closed-loop runs, rendered offscreen with MuJoCo: several runs side by side.

A ``FrameRecorder`` keeps the simulator's joint configuration (qpos) at the video's frame rate
while a run goes (``run_closed_loop(..., on_tick=recorder)``). ``save_trajectories`` writes the
runs to one .npz, and rendering reads it back: it runs in a child process,

    python -m quadruped_arm_bringup.video TRAJECTORIES.npz OUTPUT.mp4

because MuJoCo picks its OpenGL platform (MUJOCO_GL) once per process, at import, and the
parent has imported it long before. ``render_video`` tries EGL, then OSMesa (or only what
MUJOCO_GL names). Where neither works it says so in one line and the caller goes on without a
video. Frames are encoded to H.264 MP4 by the ffmpeg that the imageio-ffmpeg wheel ships.
"""

import argparse
import os
from pathlib import Path
import subprocess
import sys

import numpy as np

DEFAULT_FPS = 15.0
DEFAULT_SIZE = (480, 360)   # pixels per run (width, height)
GL_BACKENDS = ('egl', 'osmesa')


class VideoError(RuntimeError):
    """Rendering or encoding failed; the message says why in one line."""


class FrameRecorder:
    """Record qpos at ``fps`` of sim time; call it once per simulator tick with (time, sim)."""

    def __init__(self, fps=DEFAULT_FPS):
        if not fps > 0:
            raise ValueError(f'the video frame rate must be positive, got {fps}')
        self.period_s = 1.0 / fps
        self.times, self.qpos = [], []
        self.model_path = None

    def __call__(self, time_s, sim):
        if self.model_path is None:
            self.model_path = str(sim.config.model_path)
        # Half a tick of slack keeps the frame count exact despite float sums of dt.
        if not self.times or time_s >= self.times[0] + len(self.times) * self.period_s - 1e-9:
            self.times.append(float(time_s))
            self.qpos.append(sim.data.qpos.copy())


def save_trajectories(path, recorders, labels, fps):
    """Write the recorded runs (one model) to an .npz that ``render_video`` reads."""
    models = {recorder.model_path for recorder in recorders}
    if len(models) != 1 or None in models:
        raise ValueError(f'side-by-side runs need one recorded model each, the same; got {models}')
    frames = min(len(recorder.qpos) for recorder in recorders)
    np.savez(path, model_path=models.pop(), labels=np.array(labels), fps=fps,
             times=np.array(recorders[0].times[:frames]),
             qpos=np.stack([np.array(recorder.qpos[:frames]) for recorder in recorders]))
    return Path(path)


def render_video(trajectories, output, timeout_s=300.0):
    """Render an .npz of runs to MP4 in a child process; return the path or raise VideoError."""
    requested = os.environ.get('MUJOCO_GL')
    backends = (requested,) if requested else GL_BACKENDS
    reasons = []
    for backend in backends:
        result = subprocess.run(
            [sys.executable, '-m', 'quadruped_arm_bringup.video', str(trajectories),
             str(output)], env={**os.environ, 'MUJOCO_GL': backend,
                                'PYOPENGL_PLATFORM': backend},
            capture_output=True, text=True, timeout=timeout_s)
        if result.returncode == 0:
            return Path(output)
        lines = [line for line in result.stderr.strip().splitlines() if line.strip()]
        reasons.append(f"{backend}: {lines[-1] if lines else f'exit {result.returncode}'}")
    raise VideoError(f"no offscreen OpenGL to render with ({'; '.join(reasons)})")


def _camera(mujoco, body_id):
    camera = mujoco.MjvCamera()
    camera.type = mujoco.mjtCamera.mjCAMERA_TRACKING
    camera.trackbodyid = body_id
    camera.distance, camera.elevation, camera.azimuth = 2.4, -15.0, 120.0
    return camera


def _caption(frame, lines):
    from PIL import Image, ImageDraw
    image = Image.fromarray(frame)
    draw = ImageDraw.Draw(image)
    for row, line in enumerate(lines):
        draw.text((8, 6 + 14 * row), line, fill=(255, 255, 255))
    return np.asarray(image)


def _render(trajectories, output, size=DEFAULT_SIZE):
    import imageio_ffmpeg
    import mujoco
    from sim_bridge.instability import route_mujoco_messages
    route_mujoco_messages()   # MuJoCo's warnings go to logging, not to MUJOCO_LOG.TXT
    data = np.load(trajectories)
    model = mujoco.MjModel.from_xml_path(str(data['model_path']))
    model.vis.global_.offwidth = max(model.vis.global_.offwidth, size[0])
    model.vis.global_.offheight = max(model.vis.global_.offheight, size[1])
    labels, qpos, times = [str(label) for label in data['labels']], data['qpos'], data['times']
    renderer = mujoco.Renderer(model, size[1], size[0])
    state = mujoco.MjData(model)
    base = next(b for b in range(1, model.nbody) if model.body_jntnum[b] and
                model.jnt_type[model.body_jntadr[b]] == mujoco.mjtJoint.mjJNT_FREE)
    camera = _camera(mujoco, base)
    width = size[0] * len(labels)
    writer = imageio_ffmpeg.write_frames(str(output), (width, size[1]), fps=float(data['fps']),
                                         codec='libx264', pix_fmt_in='rgb24', quality=7,
                                         macro_block_size=8, ffmpeg_log_level='error')
    writer.send(None)
    try:
        for frame in range(len(times)):
            tiles = []
            for run, label in enumerate(labels):
                state.qpos[:] = qpos[run, frame]
                mujoco.mj_forward(model, state)
                renderer.update_scene(state, camera=camera)
                # Shadows and reflections triple the cost on a software rasteriser.
                renderer.scene.flags[mujoco.mjtRndFlag.mjRND_SHADOW] = 0
                renderer.scene.flags[mujoco.mjtRndFlag.mjRND_REFLECTION] = 0
                x, y = qpos[run, frame, :2] - qpos[run, 0, :2]
                time_s = times[frame] - times[0]
                tiles.append(_caption(renderer.render(), [
                    label, f't = {time_s:5.2f} s   moved ({x:+.2f}, {y:+.2f}) m']))
            writer.send(np.ascontiguousarray(np.concatenate(tiles, axis=1)))
    finally:
        writer.close()
        renderer.close()


def main(argv=None):
    """Render a trajectories .npz to MP4 (run by render_video in a child process)."""
    parser = argparse.ArgumentParser(prog='video', description=__doc__.strip().splitlines()[0])
    parser.add_argument('trajectories', type=Path)
    parser.add_argument('output', type=Path)
    args = parser.parse_args(argv)
    try:
        _render(args.trajectories, args.output)
    except Exception as error:  # GL and ffmpeg failures come in many types; report one line
        print(f'video: {type(error).__name__}: {error}'.splitlines()[0], file=sys.stderr)
        return 1
    return 0


if __name__ == '__main__':
    sys.exit(main())
