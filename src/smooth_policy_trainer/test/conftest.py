"""Fixtures shared by the trainer's tests: torch thread hygiene, bit-for-bit state checks."""

import numpy as np
import pytest
import torch


@pytest.fixture(autouse=True)
def keep_torch_threads():
    """Restore torch's thread count after each test (runners set their own)."""
    threads = torch.get_num_threads()
    yield
    torch.set_num_threads(threads)


@pytest.fixture
def assert_same():
    """Return a checker that compares nested checkpoint states bit for bit."""
    return _assert_same


def _assert_same(first, second, where='state'):
    """Compare nested checkpoint states bit for bit."""
    if isinstance(first, torch.Tensor):
        assert first.dtype == second.dtype and torch.equal(first, second), where
    elif isinstance(first, np.ndarray):
        np.testing.assert_array_equal(first, second, err_msg=where)
    elif isinstance(first, dict):
        assert first.keys() == second.keys(), where
        for key in first:
            _assert_same(first[key], second[key], f'{where}.{key}')
    elif isinstance(first, (list, tuple)):
        assert len(first) == len(second), where
        for index, (a, b) in enumerate(zip(first, second)):
            _assert_same(a, b, f'{where}[{index}]')
    else:
        assert first == second, where
