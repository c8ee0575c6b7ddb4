"""PAVE's critic terms and the critic diagnostics, against direct computations."""

import pytest
from smooth_policy_trainer.algorithms.replay import Transitions
from smooth_policy_trainer.config.offpolicy_config import PaveConfig
from smooth_policy_trainer.networks.actor_critic import ActionBox, QNetwork, TwinQ
from smooth_policy_trainer.smoothing.critic_diagnostics import (critic_diagnostics,
                                                                second_derivatives, sign_flip_rate)
from smooth_policy_trainer.smoothing.pave import PAVE, pave_terms, rademacher
import torch
from torch import nn

N_STATE, N_ACTION, BATCH = 3, 2, 5


@pytest.fixture(autouse=True)
def one_thread():
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def tiny_critic(seed=0, phase_harmonics=0):
    torch.manual_seed(seed)
    return QNetwork(N_STATE, N_ACTION, (8, 8), 'silu', phase_harmonics).double()


def random_batch(seed=1, valid=(1, 1, 0, 1, 1)):
    generator = torch.Generator().manual_seed(seed)

    def draw(*shape):
        return torch.randn(*shape, generator=generator, dtype=torch.float64)
    return Transitions(observations=draw(BATCH, N_STATE), phases=torch.rand(BATCH).double(),
                       actions=draw(BATCH, N_ACTION), rewards=draw(BATCH),
                       next_observations=draw(BATCH, N_STATE),
                       next_phases=torch.rand(BATCH).double(),
                       terminated=torch.zeros(BATCH, dtype=torch.float64),
                       next_valid=torch.tensor(valid, dtype=torch.float64))


def finite_difference_gradient(q, states, phases, actions, step=1e-6):
    """Central differences of Q in each action dimension, (B, m)."""
    columns = []
    with torch.no_grad():
        for j in range(actions.shape[1]):
            offset = torch.zeros_like(actions)
            offset[:, j] = step
            columns.append((q(states, phases, actions + offset)
                            - q(states, phases, actions - offset)) / (2 * step))
    return torch.stack(columns, dim=1)


def test_mpr_and_vfc_match_finite_differences():
    q, batch = tiny_critic(phase_harmonics=1), random_batch()
    noise = 0.01 * torch.randn(BATCH, N_STATE, dtype=torch.float64)
    probes = torch.ones(1, BATCH, N_ACTION, dtype=torch.float64)
    mpr, vfc, _, _ = pave_terms(q, batch, noise, probes, 1.0)

    here = finite_difference_gradient(q, batch.observations, batch.phases, batch.actions)
    noisy = finite_difference_gradient(q, batch.observations + noise, batch.phases,
                                       batch.actions)
    following = finite_difference_gradient(q, batch.next_observations, batch.next_phases,
                                           batch.actions)
    assert mpr.item() == pytest.approx(((noisy - here) ** 2).mean().item(), rel=1e-5)
    valid = batch.next_valid.bool()
    expected_vfc = ((following - here) ** 2).mean(-1)[valid].mean()
    assert vfc.item() == pytest.approx(expected_vfc.item(), rel=1e-6)
    # The invalid pair (index 2) is left out: changing its successor changes nothing.
    moved = batch._replace(next_observations=batch.next_observations.clone())
    moved.next_observations[2] += 5.0
    assert pave_terms(q, moved, noise, probes, 1.0)[1].item() == pytest.approx(vfc.item())


@pytest.mark.parametrize('margin', [0.0, 1.0, 50.0])
def test_the_curvature_hinge_matches_an_explicit_hessian(margin):
    q, batch = tiny_critic(), random_batch()
    probes = rademacher((3, BATCH, N_ACTION), torch.Generator().manual_seed(2)).double()
    _, _, curvature, form = pave_terms(q, batch, torch.zeros(BATCH, N_STATE,
                                                             dtype=torch.float64), probes, margin)
    forms = torch.zeros(3, BATCH, dtype=torch.float64)
    for b in range(BATCH):
        hessian = torch.autograd.functional.hessian(
            lambda a: q(batch.observations[b:b + 1], batch.phases[b:b + 1], a[None])[0],
            batch.actions[b])
        for k in range(3):
            forms[k, b] = probes[k, b] @ hessian @ probes[k, b]
    assert form.item() == pytest.approx(forms.mean().item(), rel=1e-9, abs=1e-12)
    assert curvature.item() == pytest.approx(torch.relu(forms + margin).mean().item(),
                                             rel=1e-9, abs=1e-12)
    if margin == 50.0:   # every hinge active: the term is the mean form plus delta
        assert curvature.item() == pytest.approx(forms.mean().item() + margin)


class ScaledQuadratic(nn.Module):
    """Q = -c ||a||^2 + s . w: d2Q/da2 = -2c I, so v^T H v = -2 c m for Rademacher v."""

    def __init__(self, c):
        super().__init__()
        self.c = nn.Parameter(torch.tensor(float(c), dtype=torch.float64))
        self.weight = nn.Parameter(torch.ones(N_STATE, dtype=torch.float64))

    def forward(self, state, phase, action):
        return -self.c * action.pow(2).sum(-1) + state @ self.weight


@pytest.mark.parametrize('c, expected', [(1.0, 0.0), (0.1, 0.6)])
def test_the_hinge_is_zero_once_q_is_concave_enough(c, expected):
    q, batch = ScaledQuadratic(c), random_batch()
    probes = rademacher((1, BATCH, N_ACTION)).double()
    _, _, curvature, form = pave_terms(q, batch, torch.zeros(BATCH, N_STATE,
                                                             dtype=torch.float64), probes, 1.0)
    assert form.item() == pytest.approx(-2 * c * N_ACTION)
    assert curvature.item() == pytest.approx(expected)   # max(0, -2 c m + 1)
    curvature.backward()
    assert q.c.grad.item() == pytest.approx(0.0 if expected == 0 else -2 * N_ACTION)


def test_pave_applies_its_weighted_terms_to_both_critics():
    torch.manual_seed(0)
    critic = TwinQ(N_STATE, N_ACTION, (8,), 'silu', 0).double()
    batch = random_batch()
    config = PaveConfig(enabled=True, lambda_mpr=0.3, lambda_vfc=0.2, lambda_curvature=0.1,
                        probes=2)
    loss, logs = PAVE(config, torch.Generator().manual_seed(3))(critic, batch)
    # The same draws, in the same order, by hand.
    generator = torch.Generator().manual_seed(3)
    noise = config.state_noise_std * torch.randn(BATCH, N_STATE, generator=generator)
    probes = rademacher((2, BATCH, N_ACTION), generator)
    expected = 0.0
    for q in (critic.q1, critic.q2):
        mpr, vfc, curvature, _ = pave_terms(q, batch, noise.double(), probes.double(), 1.0)
        expected += 0.3 * mpr.item() + 0.2 * vfc.item() + 0.1 * curvature.item()
    assert loss.item() == pytest.approx(expected, rel=1e-5)
    assert set(logs) == {'pave_mpr', 'pave_vfc', 'pave_curvature', 'pave_quadratic_form'}
    loss.backward()
    for q in (critic.q1, critic.q2):   # (Q's own offset, the output bias, moves no gradient)
        assert all(p.grad is not None and p.grad.abs().sum() > 0
                   for name, p in q.named_parameters() if name.endswith('weight'))


# -- critic diagnostics ---------------------------------------------------------------------------

class QuadraticCritic(nn.Module):
    """Q = -1/2 s0 ||a||^2 + s^T B a: at a = 0, d2Q/dads = B^T; d2Q/da2 = -s0 I."""

    def __init__(self, mixed):
        super().__init__()
        self.mixed = mixed   # B, (n, m)

    def forward(self, state, phase, action):
        return -0.5 * state[:, 0] * action.pow(2).sum(-1) + ((state @ self.mixed) * action).sum(-1)


class ZeroActor(nn.Module):
    def forward(self, state, phase):
        return torch.zeros(len(state), 2)


def test_the_diagnostics_of_a_quadratic_critic_are_known():
    mixed = torch.tensor([[3.0, 0.0], [0.0, 1.0], [0.0, 0.0]])   # B: singular values 3, 1
    q = QuadraticCritic(mixed)
    # At a = 0 the s0 term drops out of d2Q/dads; d2Q/da2 = -s0 I is negative definite iff
    # s0 > 0 (3 of 4 states); grad_a Q = B^T s.
    states = torch.tensor([[1.0, 1.0, 0.0], [2.0, -1.0, 0.0], [0.5, 1.0, 0.0],
                           [-1.0, 1.0, 0.0]])
    following = torch.tensor([[1.0, -1.0, 0.0], [-2.0, 1.0, 0.0], [0.5, 1.0, 0.0],
                              [1.0, 1.0, 0.0]])
    batch = Transitions(states, torch.zeros(4), torch.zeros(4, 2), torch.zeros(4), following,
                        torch.zeros(4), torch.zeros(4), torch.tensor([1.0, 1.0, 1.0, 0.0]))
    result = critic_diagnostics(q, ZeroActor(), ActionBox([-1, -1], [1, 1]), batch)
    assert result['sup_mixed_hessian_spectral'] == pytest.approx(3.0)
    assert result['sup_mixed_hessian_frobenius'] == pytest.approx(10 ** 0.5)
    assert result['negative_definite_rate'] == pytest.approx(0.75)
    # Gradients (3 s0, s1): flips in 1 of 2 dimensions, then 2 of 2, then 0; the fourth pair
    # crosses an episode end and is left out.
    assert result['action_gradient_sign_flip_rate'] == pytest.approx(0.5)
    # As vectors: (3, 1) -> (3, -1) keeps its direction (cosine 0.8); (6, -1) -> (-6, 1)
    # reverses; (1.5, 1) -> (1.5, 1) stays.
    assert result['action_gradient_cosine_flip_rate'] == pytest.approx(1 / 3)
    mixed_hessian, action_hessian = second_derivatives(q, states, torch.zeros(4),
                                                       torch.zeros(4, 2))
    assert torch.allclose(mixed_hessian, mixed.T.expand(4, 2, 3))
    assert torch.allclose(action_hessian[1], -2.0 * torch.eye(2))


def test_sign_flips_count_opposite_signs_only():
    before = torch.tensor([[1.0, -1.0, 0.0, 2.0]])
    after = torch.tensor([[-1.0, -3.0, 1.0, 0.0]])
    assert sign_flip_rate(before, after) == pytest.approx(0.25)   # a zero is no flip
