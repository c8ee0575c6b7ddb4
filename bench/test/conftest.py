"""Fixtures of the bench scripts' tests (each runs a script end to end on a tiny budget)."""

import pytest
import torch


@pytest.fixture(autouse=True)
def keep_torch_threads():
    """Restore torch's thread count after each test (the trainers set their own)."""
    threads = torch.get_num_threads()
    yield
    torch.set_num_threads(threads)
