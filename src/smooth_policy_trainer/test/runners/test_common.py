"""What both runners share: run directories, generators, provenance."""

import pytest
from smooth_policy_trainer.runners.common import fresh_run_dir, git_revision, make_generators
import torch


def test_a_fresh_run_dir_refuses_one_that_holds_a_run(tmp_path):
    assert fresh_run_dir(tmp_path, 'new') == tmp_path / 'new'
    (tmp_path / 'old' / 'checkpoints').mkdir(parents=True)
    with pytest.raises(FileExistsError, match='--resume'):
        fresh_run_dir(tmp_path, 'old')


def test_generators_are_one_stream_per_use_and_reproducible():
    first, second = make_generators(3, ('a', 'b')), make_generators(3, ('a', 'b'))
    draws = {name: torch.rand(4, generator=generator) for name, generator in first.items()}
    assert not torch.equal(draws['a'], draws['b'])
    for name, generator in second.items():
        assert torch.equal(torch.rand(4, generator=generator), draws[name])


def test_git_revision_is_a_hash_or_unknown():
    revision = git_revision()
    assert revision == 'unknown' or len(revision) == 40
