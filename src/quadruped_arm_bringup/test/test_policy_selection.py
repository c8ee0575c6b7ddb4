"""The launches run the policy trained on the task asked for, or stop with a clear reason."""

from lpn_controller.example_policy import make_example_policy
from lpn_controller.policy_format import save_policy
import pytest
from quadruped_arm_bringup.policy_selection import (
    PolicySelectionError, select_policy, shipped_policy_names, shipped_policy_path)


@pytest.fixture(scope='module')
def policies_dir(package_dir):
    return package_dir / 'policies'


def test_the_task_selects_the_shipped_lpn_policy(policies_dir):
    path = shipped_policy_path(policies_dir, 'trot_arm_wave')
    assert path.name == 'lpn_trot_arm_wave'
    policy = select_policy(str(path), 'trot_arm_wave', policies_dir)
    assert policy.metadata.kind == 'lpn'
    assert policy.metadata.motion_clip == 'trot_arm_wave'
    assert 'lpn_trot_arm_wave' in shipped_policy_names(policies_dir)


def test_a_policy_trained_on_another_clip_is_refused_with_the_fix(policies_dir):
    path = shipped_policy_path(policies_dir, 'trot_arm_wave')
    with pytest.raises(PolicySelectionError) as error:
        select_policy(str(path), 'hop', policies_dir)
    message = str(error.value)
    assert "trained on clip 'trot_arm_wave'" in message and "task is 'hop'" in message
    assert 'task:=trot_arm_wave' in message
    # No task: any policy goes (robot launches that name the policy themselves).
    assert select_policy(str(path), '', policies_dir).metadata.motion_clip == 'trot_arm_wave'


def test_every_clip_has_a_shipped_lpn(policies_dir):
    for clip in ('trot', 'trot_arm_wave', 'hop', 'arm_circle'):
        policy = select_policy(str(shipped_policy_path(policies_dir, clip)), clip, policies_dir)
        assert policy.metadata.kind == 'lpn' and policy.metadata.motion_clip == clip


def test_a_task_without_a_shipped_policy_lists_the_shipped_ones(tmp_path, policies_dir):
    # A policies folder that lacks hop's, as on a checkout where one was removed.
    (tmp_path / 'lpn_trot_arm_wave').symlink_to(policies_dir / 'lpn_trot_arm_wave')
    with pytest.raises(PolicySelectionError) as error:
        select_policy(str(shipped_policy_path(tmp_path, 'hop')), 'hop', tmp_path)
    message = str(error.value)
    assert 'lpn_hop' in message and 'lpn_trot_arm_wave' in message and 'policy:=' in message


def test_empty_and_corrupt_policies_are_named(tmp_path, policies_dir):
    with pytest.raises(PolicySelectionError, match='empty'):
        select_policy('  ', 'trot', policies_dir)
    metadata, weights = make_example_policy('lpn', ('arm_sh0', 'arm_sh1'), seed=0)
    path = save_policy(tmp_path / 'policy', metadata, weights)
    loaded = select_policy(str(path), metadata.motion_clip, policies_dir)
    assert loaded.metadata.joint_names == ('arm_sh0', 'arm_sh1')
    (path / 'policy.yaml').write_text('kind: [')
    with pytest.raises(PolicySelectionError, match='cannot load policy .*policy'):
        select_policy(str(path), metadata.motion_clip, policies_dir)
