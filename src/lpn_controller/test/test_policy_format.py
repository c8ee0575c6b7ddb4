"""The exported-policy contract: round trips, and clear errors on bad files."""

import dataclasses
import io
import tarfile
import zipfile

from lpn_controller import inspect_policy
from lpn_controller.example_policy import make_example_policy
from lpn_controller.policy_format import (
    expected_weight_shapes, load_policy, METADATA_FILE, save_policy, WEIGHTS_FILE)
from lpn_controller.policy_metadata import (
    metadata_from_dict, metadata_to_dict, PolicyFormatError)
import numpy as np
import pytest
import yaml

JOINTS = ('j0', 'j1', 'j2')


def assert_same_policy(loaded, metadata, weights):
    assert metadata_to_dict(loaded.metadata) == metadata_to_dict(metadata)
    assert set(loaded.weights) == set(weights)
    for name, array in weights.items():
        np.testing.assert_array_equal(loaded.weights[name], array)


@pytest.mark.parametrize('kind', ['lpn', 'mlp'])
@pytest.mark.parametrize('target', ['policy_dir', 'policy.tar.gz', 'policy.tgz', 'policy.zip'])
def test_round_trip(tmp_path, kind, target):
    metadata, weights = make_example_policy(kind, JOINTS, seed=3, command_size=2)
    path = save_policy(tmp_path / target, metadata, weights)
    loaded = load_policy(path)
    assert_same_policy(loaded, metadata, weights)
    assert loaded.metadata.observation_size == 3 + 3 + 3 * len(JOINTS) + 2
    assert loaded.metadata.training_config == {'seed': 3, 'note': 'random weights'}


def test_round_trip_keeps_float_bits_and_full_rank(tmp_path):
    metadata, weights = make_example_policy('lpn', JOINTS, rank=None, hidden_sizes=[])
    assert 'gain.weight' in weights and 'gain_u.weight' not in weights
    loaded = load_policy(save_policy(tmp_path / 'p', metadata, weights))
    np.testing.assert_array_equal(loaded.metadata.observation_mean, metadata.observation_mean)
    assert loaded.metadata.network.rank is None


def test_unpacked_archive_is_a_policy_directory(tmp_path):
    metadata, weights = make_example_policy('mlp', JOINTS)
    archive = save_policy(tmp_path / 'walk.tar.gz', metadata, weights)
    with tarfile.open(archive) as handle:
        assert sorted(handle.getnames()) == [f'walk/{METADATA_FILE}', f'walk/{WEIGHTS_FILE}']
        # Extraction filters came in Python 3.11.4; Debian 12 ships 3.11.2.
        safe = {'filter': 'data'} if hasattr(tarfile, 'data_filter') else {}
        handle.extractall(tmp_path / 'unpacked', **safe)
    assert_same_policy(load_policy(tmp_path / 'unpacked' / 'walk'), metadata, weights)


def test_weight_shapes_follow_metadata():
    metadata, _ = make_example_policy('lpn', JOINTS, hidden_sizes=[16, 8], rank=2,
                                      phase_harmonics=3)
    shapes = expected_weight_shapes(metadata)
    n = metadata.observation_size
    assert shapes['hidden.0.weight'] == (16, 6)
    assert shapes['hidden.1.weight'] == (8, 16)
    assert shapes['gain_u.weight'] == (3 * 2, 8)
    assert shapes['gain_v.weight'] == (n * 2, 8)
    assert shapes['offset.bias'] == (3,)
    metadata, _ = make_example_policy('mlp', JOINTS, hidden_sizes=[32], phase_harmonics=2)
    shapes = expected_weight_shapes(metadata)
    assert shapes['hidden.0.weight'] == (32, metadata.observation_size + 4)
    assert shapes['output.weight'] == (3, 32)


# --- rejected files -----------------------------------------------------------------------------

@pytest.fixture
def policy_dir(tmp_path):
    metadata, weights = make_example_policy('lpn', JOINTS, seed=4)
    return save_policy(tmp_path / 'policy', metadata, weights)


def edit_metadata(policy_dir, edit):
    path = policy_dir / METADATA_FILE
    data = yaml.safe_load(path.read_text())
    edit(data)
    path.write_text(yaml.safe_dump(data, sort_keys=False))


def expect_error(path, field, *fragments):
    with pytest.raises(PolicyFormatError) as caught:
        load_policy(path)
    error = caught.value
    assert error.field == field, str(error)
    for fragment in fragments:
        assert fragment in str(error), str(error)
    return error


def test_missing_path_is_named(tmp_path):
    expect_error(tmp_path / 'nowhere', '<path>', 'nowhere', 'no such file')


@pytest.mark.parametrize('name', [METADATA_FILE, WEIGHTS_FILE])
def test_missing_file_in_directory(policy_dir, name):
    (policy_dir / name).unlink()
    expect_error(policy_dir, '<file>', name, 'missing')


def test_corrupt_yaml(policy_dir):
    (policy_dir / METADATA_FILE).write_text('kind: [lpn\n  :: broken')
    expect_error(policy_dir, '<file>', METADATA_FILE, 'not valid YAML')


def test_corrupt_weights(policy_dir):
    (policy_dir / WEIGHTS_FILE).write_bytes(b'not a zip file at all')
    expect_error(policy_dir, '<file>', WEIGHTS_FILE, '.npz')


def test_truncated_archive(tmp_path):
    metadata, weights = make_example_policy('lpn', JOINTS)
    archive = save_policy(tmp_path / 'p.tar.gz', metadata, weights)
    archive.write_bytes(archive.read_bytes()[:100])
    expect_error(archive, '<file>', 'unreadable archive')


def test_archive_without_weights(tmp_path):
    metadata, _ = make_example_policy('lpn', JOINTS)
    archive = tmp_path / 'p.zip'
    with zipfile.ZipFile(archive, 'w') as handle:
        handle.writestr(METADATA_FILE, yaml.safe_dump(metadata_to_dict(metadata)))
    expect_error(archive, '<file>', WEIGHTS_FILE, 'missing')


def test_not_a_policy_path(tmp_path):
    path = tmp_path / 'policy.txt'
    path.write_text('hello')
    expect_error(path, '<path>', 'not a policy directory or archive')


@pytest.mark.parametrize('edit, field, fragment', [
    (lambda d: d.pop('control_rate_hz'), 'control_rate_hz', 'missing'),
    (lambda d: d['action'].pop('default_pose'), 'action.default_pose', 'missing'),
    (lambda d: d['observation']['normalization'].pop('std'), 'observation.normalization.std',
     'missing'),
    (lambda d: d['provenance'].pop('git_revision'), 'provenance.git_revision', 'missing'),
    (lambda d: d.update(format_version=2), 'format_version', 'not supported'),
    (lambda d: d.update(kind='transformer'), 'kind', 'lpn, mlp'),
    (lambda d: d.update(control_rate_hz='fast'), 'control_rate_hz', 'expected a number'),
    (lambda d: d.update(control_rate_hz=-50.0), 'control_rate_hz', 'positive'),
    (lambda d: d.update(contol_rate_hz=50.0), 'contol_rate_hz', 'unknown field'),
    (lambda d: d['joint_names'].__setitem__(1, 'j0'), 'joint_names', 'duplicate'),
    (lambda d: d['action']['default_pose'].pop(), 'action.default_pose', '2 entries, expected 3'),
    (lambda d: d['pd_gains'].update(kp=[1.0, 2.0]), 'pd_gains.kp', 'expected 3'),
    (lambda d: d['pd_gains'].update(kp=0.0), 'pd_gains.kp', 'positive'),
    (lambda d: d['observation']['normalization']['mean'].append(0.0),
     'observation.normalization.mean', 'expected 15'),
    (lambda d: d['observation']['normalization']['std'].__setitem__(4, 0.0),
     'observation.normalization.std', 'positive'),
    (lambda d: d['observation']['normalization']['mean'].__setitem__(0, float('nan')),
     'observation.normalization.mean[0]', 'finite'),
    (lambda d: d['observation']['terms'][2].update(size=4), 'observation.terms[2].size',
     'must have size 3'),
    (lambda d: d['observation']['terms'][0].update(name='lidar'), 'observation.terms[0].name',
     'unknown term'),
    (lambda d: d['network'].update(activation='gelu'), 'network.activation', 'elu'),
    (lambda d: d['network'].update(phase_harmonics=0), 'network.phase_harmonics', 'at least 1'),
    (lambda d: d['joint_limits'].update(lower=d['joint_limits']['upper']), 'joint_limits',
     'lower limit'),
    (lambda d: d.update(network=[64, 64]), 'network', 'expected a mapping'),
    (lambda d: d['action'].update(filter_alpha=1.5), 'action.filter_alpha', '(0, 1]'),
    (lambda d: d['action'].update(filter_alpha=0.0), 'action.filter_alpha', 'positive'),
    (lambda d: d.update(randomization=[0.8, 1.2]), 'randomization', 'mapping of groups'),
    (lambda d: d.update(randomization={'mass': 1.2}), 'randomization', 'mapping of ranges'),
])
def test_bad_metadata_names_the_field(policy_dir, edit, field, fragment):
    edit_metadata(policy_dir, edit)
    error = expect_error(policy_dir, field, fragment)
    assert str(policy_dir / METADATA_FILE) in str(error)


def test_rank_inconsistent_with_weights(policy_dir):
    edit_metadata(policy_dir, lambda d: d['network'].update(rank=4))
    expect_error(policy_dir, 'gain_u.weight', WEIGHTS_FILE, 'shape (24, 64)', 'expected (12, 64)')


def test_hidden_sizes_inconsistent_with_weights(policy_dir):
    edit_metadata(policy_dir, lambda d: d['network'].update(hidden_sizes=[64, 32]))
    expect_error(policy_dir, 'hidden.1.weight', 'does not match the metadata')


def test_observation_layout_inconsistent_with_weights(policy_dir):
    def add_command(data):
        data['observation']['terms'].append({'name': 'command', 'size': 2, 'scale': 1.0})
        data['observation']['normalization']['mean'] += [0.0, 0.0]
        data['observation']['normalization']['std'] += [1.0, 1.0]
    edit_metadata(policy_dir, add_command)
    expect_error(policy_dir, 'gain_v.weight', 'observation size 17')


def rewrite_weights(policy_dir, edit):
    with np.load(policy_dir / WEIGHTS_FILE) as archive:
        weights = {name: archive[name] for name in archive.files}
    edit(weights)
    buffer = io.BytesIO()
    np.savez(buffer, **weights)
    (policy_dir / WEIGHTS_FILE).write_bytes(buffer.getvalue())


@pytest.mark.parametrize('edit, field, fragment', [
    (lambda w: w.pop('offset.bias'), 'offset.bias', 'missing weight array'),
    (lambda w: w.update(extra=np.zeros(3)), 'extra', 'unexpected'),
    (lambda w: w['hidden.0.weight'].__setitem__((0, 0), np.inf), 'hidden.0.weight', 'NaN'),
    (lambda w: w.update({'hidden.0.bias': np.zeros(64, dtype=np.int32)}), 'hidden.0.bias',
     'floating'),
])
def test_bad_weights_name_the_array(policy_dir, edit, field, fragment):
    rewrite_weights(policy_dir, edit)
    expect_error(policy_dir, field, fragment)


def test_save_refuses_an_invalid_policy(tmp_path):
    metadata, weights = make_example_policy('mlp', JOINTS)
    weights['output.weight'] = weights['output.weight'][:2]
    with pytest.raises(PolicyFormatError, match='output.weight'):
        save_policy(tmp_path / 'p', metadata, weights)
    assert not (tmp_path / 'p').exists()


def test_metadata_accepts_scalar_gains_and_exponent_strings():
    metadata, _ = make_example_policy('lpn', JOINTS)
    data = metadata_to_dict(metadata)
    data['pd_gains']['kp'] = 40
    data['action']['scale'] = '1e-1'
    parsed = metadata_from_dict(data)
    np.testing.assert_array_equal(parsed.kp, [40.0, 40.0, 40.0])
    np.testing.assert_array_equal(parsed.action_scale, [0.1, 0.1, 0.1])


def test_scalar_scales_round_trip_and_bad_training_config(tmp_path):
    metadata, weights = make_example_policy('mlp', JOINTS)
    metadata = dataclasses.replace(metadata, action_scale=np.float64(0.5), kp=40.0)
    loaded = load_policy(save_policy(tmp_path / 'scalar', metadata, weights))
    np.testing.assert_array_equal(loaded.metadata.action_scale, [0.5, 0.5, 0.5])
    np.testing.assert_array_equal(loaded.metadata.kp, [40.0, 40.0, 40.0])
    bad = dataclasses.replace(metadata, training_config={'lr': object()})
    with pytest.raises(PolicyFormatError, match='plain YAML types') as caught:
        save_policy(tmp_path / 'bad', bad, weights)
    assert caught.value.field == 'provenance.training_config'


def test_inspect_policy_command(tmp_path, capsys):
    metadata, weights = make_example_policy('lpn', JOINTS)
    good = save_policy(tmp_path / 'good.zip', metadata, weights)
    assert inspect_policy.main([str(good)]) == 0
    assert 'kind lpn' in capsys.readouterr().out
    assert inspect_policy.main([str(tmp_path / 'missing')]) == 1
    assert 'no such file' in capsys.readouterr().err


def test_half_given_joint_limits_are_rejected(tmp_path):
    metadata, weights = make_example_policy('lpn', JOINTS)
    metadata = dataclasses.replace(metadata, joint_upper_limits=None)
    with pytest.raises(PolicyFormatError, match='missing') as caught:
        save_policy(tmp_path / 'p', metadata, weights)
    assert caught.value.field == 'joint_limits.upper'


def test_the_randomisation_record_round_trips_and_is_shown(policy_dir):
    record = {'pushes': {'interval_s': [2.0, 5.0], 'max_velocity_m_s': 1.0},
              'actuators': {'kp_scale': [0.5, 2.0], 'arm_joints': 'arm_*'}}
    assert load_policy(policy_dir).metadata.randomization == {}
    assert 'trained with randomisation: none' in inspect_policy.describe(str(policy_dir))
    edit_metadata(policy_dir, lambda d: d.update(randomization=record))
    loaded = load_policy(policy_dir)
    assert loaded.metadata.randomization == record
    summary = inspect_policy.describe(str(policy_dir))
    assert 'pushes (interval_s [2.0, 5.0], max_velocity_m_s 1.0); actuators (kp_scale' in summary
