"""The observation normaliser and weight initialisation: options, config, export."""

from lpn_controller.policy_format import load_policy
import numpy as np
import pytest
from smooth_policy_trainer.cli import export
from smooth_policy_trainer.config.reader import ConfigError
from smooth_policy_trainer.config.train_config import load_config, NormalizerConfig
from smooth_policy_trainer.networks.normalizer import make_normalizer, RunningNormalizer
from smooth_policy_trainer.networks.policies import make_actor
from smooth_policy_trainer.runners.ppo_runner import Runner
import torch

TINY = ['env.clip=trot', 'env.num_envs=4', 'ppo.num_steps=8', 'ppo.num_minibatches=2',
        'ppo.num_learning_epochs=1', 'policy.kind=mlp', 'policy.mlp_hidden_sizes=[16]',
        'penalty.enabled=false', 'critic.hidden_sizes=[16]', 'run.eval_every=0',
        'run.iterations=1']


def test_the_divisor_is_the_root_of_variance_plus_epsilon_plus_the_offset():
    batch = torch.tensor([[0.0, 1.0], [0.0, 3.0]], dtype=torch.float64)   # var 0 and 1
    ours = RunningNormalizer(2)
    rsl_rl = RunningNormalizer(2, epsilon=0.0, std_offset=0.01)
    for normalizer in (ours, rsl_rl):
        normalizer.update(batch)
        np.testing.assert_allclose(normalizer.var.numpy(), [0.0, 1.0], atol=1e-8)
        np.testing.assert_array_equal(
            normalizer.std.numpy(),
            (torch.sqrt(normalizer.var + normalizer.epsilon) + normalizer.std_offset).numpy())
    # A constant input: ours divides by about sqrt(1e-8), rsl_rl's by about 0.01.
    assert 1e-4 <= float(ours.std[0]) < 2e-4
    assert float(rsl_rl.std[0]) == pytest.approx(0.01, rel=0.02)
    assert float(rsl_rl.std[1]) == pytest.approx(1.01, rel=1e-6)
    probe = torch.tensor([[1e-3, 2.0]], dtype=torch.float64)
    assert float(ours(probe)[0, 0]) > 5.0
    assert float(rsl_rl(probe)[0, 0]) == pytest.approx(0.1, rel=0.02)


def test_a_divisor_that_can_be_zero_is_refused():
    with pytest.raises(ValueError, match='not both 0'):
        RunningNormalizer(3, epsilon=0.0, std_offset=0.0)
    with pytest.raises(ConfigError, match="'normalizer.std_offset'.*cannot both be 0"):
        load_config(None, ['normalizer.epsilon=0', 'normalizer.std_offset=0'])
    with pytest.raises(ConfigError, match="'normalizer.epsilon': must be at least 0"):
        load_config(None, ['normalizer.epsilon=-1e-3'])
    with pytest.raises(ConfigError, match="'normalizer.clip': must be positive"):
        load_config(None, ['normalizer.clip=0'])


def test_the_config_section_builds_the_normalizer():
    normalizer = make_normalizer(NormalizerConfig(epsilon=0.0, std_offset=0.01, clip=5.0), 4)
    assert (normalizer.epsilon, normalizer.std_offset, normalizer.clip) == (0.0, 0.01, 5.0)


def test_a_checkpoint_exports_the_std_its_config_trained_with(tmp_path):
    threads = torch.get_num_threads()
    config = load_config(None, TINY + ['normalizer.epsilon=0', 'normalizer.std_offset=0.01',
                                       f'run.log_dir={tmp_path}'])
    runner = Runner(config, tmp_path / 'run', progress=False)
    try:
        assert runner.train() == 'finished'
        expected = runner.normalizer.std.numpy()
    finally:
        runner.close()
        torch.set_num_threads(threads)
    assert export.main(['--run', str(tmp_path / 'run'), '--output', str(tmp_path / 'p')]) == 0
    exported = load_policy(tmp_path / 'p').metadata.observation_std
    np.testing.assert_allclose(exported, expected, rtol=1e-12)
    assert float(np.min(exported)) >= 0.01   # the offset caps every input's gain at 100


def test_default_init_keeps_pytorchs_weights_and_orthogonal_replaces_them():
    torch.manual_seed(0)
    orthogonal = make_actor('mlp', 10, 3, hidden_sizes=(16,), init='orthogonal')
    torch.manual_seed(0)
    default = make_actor('mlp', 10, 3, hidden_sizes=(16,), init='default')
    torch.manual_seed(0)
    plain = torch.nn.Linear(14, 16)    # the first layer sees 10 inputs + 4 phase features
    torch.testing.assert_close(default.hidden[0].weight, plain.weight)
    assert float(orthogonal.hidden[0].bias.detach().abs().max()) == 0.0
    assert float(default.hidden[0].bias.detach().abs().max()) > 0.0
    with pytest.raises(ConfigError, match="'policy.init': must be one of orthogonal, default"):
        load_config(None, ['policy.init=xavier'])
    with pytest.raises(ConfigError, match="'critic.init'"):
        load_config(None, ['critic.init=xavier'])
