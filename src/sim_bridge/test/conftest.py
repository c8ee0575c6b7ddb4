import pytest

from sim_bridge.config import load_config


@pytest.fixture(scope='session')
def config():
    return load_config()
