"""What TD3 and SAC share: Polyak averaging and the clipped gradient step."""

from smooth_policy_trainer.algorithms.twin_critic import gradient_step, soft_update
import torch


def test_soft_update_moves_the_target_by_tau():
    target, source = torch.nn.Linear(2, 1), torch.nn.Linear(2, 1)
    before = target.weight.detach().clone()
    soft_update(target, source, 0.25)
    torch.testing.assert_close(target.weight, 0.75 * before + 0.25 * source.weight.detach())


def test_gradient_step_clips_the_gradient_norm():
    layer = torch.nn.Linear(1, 1, bias=False)
    with torch.no_grad():
        layer.weight.fill_(0.0)
    optimizer = torch.optim.SGD(layer.parameters(), lr=1.0)
    loss = (layer(torch.tensor([[100.0]])) - 1000.0).pow(2).mean()
    gradient_step(optimizer, loss, layer.parameters(), max_grad_norm=0.5)
    assert abs(layer.weight.item()) == 0.5   # the step is the clipped gradient itself
