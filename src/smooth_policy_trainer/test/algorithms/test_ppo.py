"""PPO learns a small phase-tracking task in seconds, for both actor kinds."""

import math

import pytest
from smooth_policy_trainer.algorithms.ppo import PPO
from smooth_policy_trainer.algorithms.storage import RolloutStorage
from smooth_policy_trainer.config.train_config import PPOConfig
from smooth_policy_trainer.networks.normalizer import RunningNormalizer
from smooth_policy_trainer.networks.policies import Critic, make_actor
from smooth_policy_trainer.smoothing.jacobian import JacobianPenalty
import torch


class PhaseTrackingTask:
    """
    Output a phase-dependent target; the observation is the previous action.

    A miniature of motion imitation: the best action depends on the phase alone.
    """

    period_steps, episode_steps = 20, 40

    def __init__(self, num_envs):
        self.num_envs = num_envs
        self.step_count = torch.zeros(num_envs)
        self.previous_action = torch.zeros(num_envs, 2)

    @property
    def phase(self):
        return (self.step_count / self.period_steps) % 1.0

    def target(self, phase):
        angle = 2 * math.pi * phase
        return 0.5 * torch.stack((torch.sin(angle), torch.cos(angle)), -1)

    def step(self, action):
        reward = torch.exp(-(action - self.target(self.phase)).pow(2).sum(-1) / 0.05)
        self.previous_action = action.clamp(-1, 1)
        self.step_count += 1
        done = self.step_count >= self.episode_steps
        self.step_count[done] = 0
        self.previous_action[done] = 0
        return self.previous_action.clone(), reward, done.float()


def train(kind, iterations, regularizers=()):
    torch.manual_seed(0)
    generator = torch.Generator().manual_seed(0)
    task = PhaseTrackingTask(32)
    actor = make_actor(kind, 2, 2, hidden_sizes=(32, 32), phase_harmonics=1)
    critic = Critic(2, hidden_sizes=(32, 32), phase_harmonics=1)
    config = PPOConfig(num_steps=20, learning_rate=3e-3, entropy_coef=0.0)
    ppo = PPO(actor, critic, config, regularizers)
    normalizer = RunningNormalizer(2)
    storage = RolloutStorage(config.num_steps, task.num_envs, 2, 2)
    observation = task.previous_action.clone()
    rewards = []
    for _ in range(iterations):
        storage.clear()
        for _ in range(config.num_steps):
            normalizer.update(observation)
            state, phase = normalizer(observation), task.phase
            action, log_prob, value, mean, std = ppo.act(state, phase, generator)
            observation, reward, done = task.step(action)
            storage.add(state, phase, action, log_prob, value, reward, done, mean, std,
                        normalizer(observation), task.phase)
            rewards.append(reward.mean().item())
        storage.compute_returns(ppo.value(normalizer(observation), task.phase), config.gamma,
                                config.lam)
        logs = ppo.update(storage, generator)
    with torch.no_grad():
        phases = torch.linspace(0, 1, 50)
        error = (actor.mean(torch.zeros(50, 2), phases) - task.target(phases)).abs().max()
    return rewards, error.item(), logs


@pytest.mark.parametrize('kind', ['lpn', 'mlp'])
def test_ppo_learns_phase_tracking_in_seconds(kind):
    rewards, error, logs = train(kind, iterations=40)
    first, last = sum(rewards[:20]) / 20, sum(rewards[-20:]) / 20
    # Sampled actions still carry exploration noise; the mean action must track the target.
    assert last > 5 * first, f'{kind}: sampled reward {first:.2f} -> {last:.2f}'
    assert error < 0.15, f'{kind}: deterministic tracking error {error:.3f} (target 0.5)'
    assert math.isfinite(logs['value_loss'])


def test_ppo_with_the_jacobian_penalty_logs_it_and_still_learns():
    rewards, error, logs = train('lpn', 40, [JacobianPenalty(0.01, 'closed_form')])
    assert 'jacobian_norm_sq' in logs
    assert error < 0.15


def test_normalizer_matches_batch_statistics():
    data = torch.randn(1000, 3) * torch.tensor([1.0, 5.0, 0.1]) + 2.0
    normalizer = RunningNormalizer(3)
    for chunk in data.split(100):
        normalizer.update(chunk)
    torch.testing.assert_close(normalizer.mean, data.double().mean(0), rtol=1e-6, atol=1e-6)
    torch.testing.assert_close(normalizer.std, data.double().std(0, unbiased=False),
                               rtol=1e-4, atol=1e-6)
    restored = RunningNormalizer(3)
    restored.load_state_dict(normalizer.state_dict())
    torch.testing.assert_close(restored(data[:5]), normalizer(data[:5]))


def test_gae_on_a_hand_made_rollout():
    storage = RolloutStorage(3, 1, 1, 1)
    for reward, done, value in [(1.0, 0.0, 0.5), (1.0, 1.0, 0.5), (2.0, 0.0, 1.0)]:
        zeros = torch.zeros(1, 1)
        storage.add(zeros, torch.zeros(1), zeros, torch.zeros(1), torch.tensor([value]),
                    torch.tensor([reward]), torch.tensor([done]), zeros, zeros, zeros,
                    torch.zeros(1))
    gamma, lam = 0.9, 1.0
    storage.compute_returns(torch.tensor([3.0]), gamma, lam)
    # With lam = 1 the returns are discounted sums, cut at the episode end.
    expected = torch.tensor([[1.0 + 0.9 * 1.0], [1.0], [2.0 + 0.9 * 3.0]])
    torch.testing.assert_close(storage.returns, expected)
