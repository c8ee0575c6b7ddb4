"""The one YAML reader: a file that cannot be read, parsed or used fails naming the file."""

from lpn_controller.config_files import ConfigError, read_yaml_mapping
import pytest


def test_a_mapping_reads_and_bad_files_fail_naming_the_file(tmp_path):
    good = tmp_path / 'good.yaml'
    good.write_text('a: 1\nb: [2, 3]\n')
    assert read_yaml_mapping(good) == {'a': 1, 'b': [2, 3]}
    empty = tmp_path / 'empty.yaml'
    empty.write_text('')
    assert read_yaml_mapping(empty, empty_ok=True) == {}
    with pytest.raises(ConfigError, match='empty.yaml: expected a mapping at the top level'):
        read_yaml_mapping(empty)
    with pytest.raises(ConfigError, match='absent.yaml: cannot read robot file'):
        read_yaml_mapping(tmp_path / 'absent.yaml', what='robot file')
    bad = tmp_path / 'bad.yaml'
    bad.write_text('a: [1, 2\n')
    with pytest.raises(ConfigError, match='bad.yaml: not valid YAML'):
        read_yaml_mapping(bad)
    listed = tmp_path / 'list.yaml'
    listed.write_text('- 1\n')
    with pytest.raises(ConfigError, match='got list'):
        read_yaml_mapping(listed)


def test_the_caller_raises_its_own_error():
    class ProfileError(ConfigError):
        pass

    def fail(problem):
        raise ProfileError(f'profile: file: {problem}')

    with pytest.raises(ProfileError, match='profile: file: cannot read'):
        read_yaml_mapping('/no/such/file.yaml', fail=fail)
