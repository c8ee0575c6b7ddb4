"""Video frames at the requested rate, the side-by-side MP4, and the one-line skip without GL."""

from types import SimpleNamespace

import numpy as np
import pytest
from quadruped_arm_bringup.video import (FrameRecorder, render_video, save_trajectories,
                                         VideoError)
from sim_bridge.config import load_config
from sim_bridge.simulator import Simulator


def fake_sim(model_path, qpos):
    return SimpleNamespace(config=SimpleNamespace(model_path=model_path),
                           data=SimpleNamespace(qpos=qpos))


def test_frames_are_kept_at_the_video_rate_of_sim_time():
    recorder = FrameRecorder(fps=10.0)
    qpos = np.zeros(3)
    for tick in range(1, 501):  # 1 s of 2 ms ticks
        qpos[0] = tick
        recorder(tick * 0.002, fake_sim('robot.xml', qpos))
    assert len(recorder.times) == 10
    np.testing.assert_allclose(np.diff(recorder.times), 0.1, atol=1e-9)
    assert recorder.qpos[1][0] == 51  # copies, not views of the live state
    with pytest.raises(ValueError, match='positive'):
        FrameRecorder(fps=0.0)


def test_runs_of_other_models_are_not_put_side_by_side(tmp_path):
    one, other = FrameRecorder(), FrameRecorder()
    one(0.0, fake_sim('a.xml', np.zeros(3)))
    other(0.0, fake_sim('b.xml', np.zeros(3)))
    with pytest.raises(ValueError, match='the same'):
        save_trajectories(tmp_path / 't.npz', [one, other], ['a', 'b'], 15.0)


@pytest.fixture
def trajectories(tmp_path):
    recorders = [FrameRecorder(fps=25.0), FrameRecorder(fps=25.0)]
    for recorder, push in zip(recorders, (0.0, 0.3)):
        sim = Simulator(load_config(), seed=0)
        sim.data.qvel[0] = push
        for _ in range(40):
            sim.step()
            recorder(sim.data.time, sim)
    return save_trajectories(tmp_path / 'runs.npz', recorders, ['still', 'pushed'], 25.0)


def test_two_runs_render_side_by_side_to_mp4(trajectories, tmp_path):
    try:
        video = render_video(trajectories, tmp_path / 'runs.mp4')
    except VideoError as error:
        pytest.skip(f'no offscreen OpenGL here: {error}')
    import imageio_ffmpeg
    frames = imageio_ffmpeg.read_frames(str(video))
    meta = next(frames)
    assert meta['size'] == (960, 360)
    pictures = [np.frombuffer(frame, np.uint8).reshape(360, 960, 3) for frame in frames]
    assert len(pictures) == 40 * 0.02 * 25
    assert all(picture.std() > 10 for picture in pictures), 'frames show a scene, not a blank'


def test_without_a_usable_gl_the_reason_comes_in_one_line(trajectories, tmp_path, monkeypatch):
    monkeypatch.setenv('MUJOCO_GL', 'no_such_backend')
    with pytest.raises(VideoError, match='no offscreen OpenGL to render with') as caught:
        render_video(trajectories, tmp_path / 'runs.mp4')
    assert '\n' not in str(caught.value) and 'no_such_backend' in str(caught.value)
    assert not (tmp_path / 'runs.mp4').exists()
