"""The fast physics in training: its policies say so, and evaluating them in full warns."""

from dataclasses import replace

from lpn_controller.policy_format import load_policy, save_policy
import pytest
from sim_bridge.physics import PhysicsMismatchWarning
from smooth_policy_trainer.config.reader import config_to_dict
from smooth_policy_trainer.config.train_config import load_config
from smooth_policy_trainer.evaluation.evaluate import env_config_for, evaluate_policy
from smooth_policy_trainer.networks.export import build_policy
from smooth_policy_trainer.runners.ppo_runner import Runner

TINY = ['env.num_envs=2', 'ppo.num_steps=4', 'ppo.num_minibatches=1', 'run.eval_every=0']


def test_a_fast_trained_policy_says_fast_and_warns_when_evaluated_in_full(tmp_path):
    config = load_config('lpn_trot_arm_wave_base', [*TINY, 'env.physics=fast'])
    runner = Runner(config, tmp_path / 'run', progress=False)
    try:
        runner.step()
        exported = build_policy(runner.ppo.actor, runner.normalizer,
                                runner.env.policy_metadata(), config_to_dict(runner.config))
    finally:
        runner.close()
    policy = load_policy(save_policy(tmp_path / 'policy', exported.metadata, exported.weights))
    assert policy.metadata.physics == 'fast'
    env_config = env_config_for(policy)
    assert env_config.physics == 'fast'   # the provenance rebuilds the training physics
    with pytest.warns(PhysicsMismatchWarning, match="trained in physics configuration 'fast'"):
        result = evaluate_policy(policy, replace(env_config, physics='full'), episodes=1,
                                 seconds=0.2)
    assert 0.0 <= result['survival_rate'] <= 1.0
