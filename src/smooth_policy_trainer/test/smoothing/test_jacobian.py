"""
The action Jacobian penalty: exact, estimator and closed form agree with finite differences.

The LPN is linear in s with Jacobian K(phase).
"""

from lpn_controller.runtime import phase_features as runtime_phase_features
import numpy as np
import pytest
from smooth_policy_trainer.networks.policies import (Critic, LPNActor, make_actor, MLPActor,
                                                     phase_features)
from smooth_policy_trainer.smoothing.jacobian import (estimator_variance, jacobian_norm_squared,
                                                      jacobian_penalty, JacobianPenalty)
import torch

OBS, ACT = 7, 4


@pytest.fixture(autouse=True)
def double_precision():
    torch.manual_seed(0)
    torch.set_default_dtype(torch.float64)
    yield
    torch.set_default_dtype(torch.float32)


def finite_difference_jacobian(actor, state, phase, eps=1e-6):
    columns = []
    for j in range(state.shape[-1]):
        step = torch.zeros_like(state)
        step[..., j] = eps
        columns.append((actor.mean(state + step, phase) - actor.mean(state - step, phase))
                       / (2 * eps))
    return torch.stack(columns, dim=-1)


def batch(size=5):
    return torch.randn(size, OBS), torch.rand(size)


def perturbed_lpn():
    actor = LPNActor(OBS, ACT, hidden_sizes=(16,), rank=3)
    with torch.no_grad():  # away from the near-zero initial gains
        for parameter in actor.parameters():
            parameter.add_(0.3 * torch.randn_like(parameter))
    return actor


def test_phase_features_match_the_controller_runtime():
    phase = torch.rand(10)
    np.testing.assert_allclose(phase_features(phase, 3).numpy(),
                               runtime_phase_features(phase.numpy(), 3), atol=1e-12)


def test_lpn_is_linear_in_the_state_with_gain_k_of_phase():
    actor = perturbed_lpn()
    state, phase = batch()
    gain = actor.gain_matrix(phase)
    offset = actor.factors(phase)[2]
    expected = (gain @ state[..., None])[..., 0] + offset
    torch.testing.assert_close(actor.mean(state, phase), expected)
    torch.testing.assert_close(finite_difference_jacobian(actor, state, phase), gain)


@pytest.mark.parametrize('rank', [3, None])
def test_lpn_closed_form_equals_frobenius_norm_of_k_and_exact(rank):
    actor = LPNActor(OBS, ACT, hidden_sizes=(16,), rank=rank)
    state, phase = batch()
    closed = jacobian_norm_squared(actor, state, phase, 'closed_form')
    torch.testing.assert_close(closed, actor.gain_matrix(phase).pow(2).sum((-2, -1)))
    torch.testing.assert_close(closed, jacobian_norm_squared(actor, state, phase, 'exact'))


def test_closed_form_and_exact_give_the_same_parameter_gradients():
    actor = perturbed_lpn()
    state, phase = batch()
    gradients = []
    for method in ('closed_form', 'exact'):
        actor.zero_grad()
        jacobian_penalty(actor, state, phase, 0.1, method)[0].backward()
        gradients.append([p.grad.clone() for p in actor.parameters() if p.grad is not None])
    for closed, exact in zip(*gradients):
        torch.testing.assert_close(closed, exact)


def test_exact_mlp_penalty_matches_finite_differences():
    actor = MLPActor(OBS, ACT, hidden_sizes=(16, 16), phase_harmonics=2)
    state, phase = batch()
    expected = finite_difference_jacobian(actor, state, phase).pow(2).sum((-2, -1))
    torch.testing.assert_close(jacobian_norm_squared(actor, state, phase, 'exact'), expected,
                               rtol=1e-6, atol=1e-9)


def test_exact_penalty_gradient_matches_finite_differences_in_a_weight():
    actor = MLPActor(OBS, ACT, hidden_sizes=(8,), phase_harmonics=1)
    state, phase = batch(3)
    loss, _ = jacobian_penalty(actor, state, phase, 1.0, 'exact')
    loss.backward()
    weight = actor.hidden[0].weight
    analytic = weight.grad[2, 1].item()
    eps = 1e-6
    with torch.no_grad():
        weight[2, 1] += eps
        up = jacobian_penalty(actor, state, phase, 1.0, 'exact')[0].item()
        weight[2, 1] -= 2 * eps
        down = jacobian_penalty(actor, state, phase, 1.0, 'exact')[0].item()
    assert analytic == pytest.approx((up - down) / (2 * eps), rel=1e-5)


def test_estimator_is_unbiased():
    actor = MLPActor(OBS, ACT, hidden_sizes=(16,), phase_harmonics=2)
    state, phase = batch(4)
    generator = torch.Generator().manual_seed(0)
    exact, estimate, relative_std = estimator_variance(actor, state, phase, samples=2000,
                                                       generator=generator)
    assert estimate == pytest.approx(exact, rel=0.05)
    # One Gaussian probe: the relative std is around sqrt(2) for a rank-one-ish Jacobian,
    # and never zero.
    assert 0.1 < relative_std < 2.0


def test_regulariser_adds_the_weighted_penalty_and_logs_the_norm():
    actor = perturbed_lpn()
    state, phase = batch()

    class Minibatch:
        states, phases = state, phase

    loss, logs = JacobianPenalty(0.5, 'closed_form')(actor, Minibatch)
    expected = actor.gain_matrix(phase).pow(2).sum((-2, -1)).mean()
    assert loss.item() == pytest.approx(0.5 * expected.item())
    assert logs['jacobian_norm_sq'] == pytest.approx(expected.item())


def test_bad_choices_fail_clearly():
    mlp = make_actor('mlp', OBS, ACT, hidden_sizes=(8,))
    state, phase = batch()
    with pytest.raises(ValueError, match='closed form needs an LPN'):
        jacobian_norm_squared(mlp, state, phase, 'closed_form')
    with pytest.raises(ValueError, match='penalty method'):
        JacobianPenalty(1.0, 'approximate')
    with pytest.raises(ValueError, match='policy kind'):
        make_actor('transformer', OBS, ACT)
    with pytest.raises(ValueError, match='activation'):
        make_actor('lpn', OBS, ACT, activation='gelu')


def test_critic_and_actor_shapes():
    critic = Critic(OBS, hidden_sizes=(8,))
    state, phase = batch(6)
    assert critic(state, phase).shape == (6,)
    lpn = LPNActor(OBS, ACT, rank=2)
    assert lpn.mean(state, phase).shape == (6, ACT)
    assert lpn.mean(state[0], phase[0]).shape == (ACT,)
