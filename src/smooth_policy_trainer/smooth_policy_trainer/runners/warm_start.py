"""
Reference warm start: fit the actor's phase-only output to the clip's joint trajectory before PPO.

A fresh actor's output is near zero, so it holds the clip's mean pose and must find every motion
of the clip by exploration. On a hop that means finding a take-off push whose first tries end in
a fall; the runs learnt to stretch the legs without leaving the floor. Replaying the clip's joint
angles open loop into the PD servos does leave the floor (docs/results.md). So before the first
rollout the actor's output at the mean observation (normalised state s = 0; for the LPN exactly
its offset k(phase)) is fitted to the action that commands the reference's joint angles one
control step ahead: the policy starts as the open-loop replay and PPO learns the feedback that
lands it. What is fitted is the policy's own function: no reference table crosses into the
runtime, and the exported policy is an ordinary LPN or MLP.
"""

import numpy as np
import torch


def reference_actions(clip, default_pose, action_scale, lead_s, phases):
    """Return the actions (len(phases), m) whose joint targets are the reference ``lead_s`` on."""
    ahead = np.mod(np.asarray(phases, dtype=float) + lead_s / clip.phase_period_s, 1.0)
    return (clip.sample(ahead).joint_positions - default_pose) / action_scale


def fit_to_reference(actor, phases, target_actions, steps=400, learning_rate=3e-3):
    """
    Fit ``actor.mean(0, phase)`` to ``target_actions`` by Adam on the squared error, in place.

    Returns (RMS error before, RMS error after), in action units. Deterministic: full batches
    on the given phases, no random numbers drawn (a seeded run stays reproducible).
    """
    phases = torch.as_tensor(np.asarray(phases), dtype=torch.float32)
    targets = torch.as_tensor(np.asarray(target_actions), dtype=torch.float32)
    zero_state = torch.zeros(len(phases), actor.observation_size)
    parameters = [p for name, p in actor.named_parameters() if name != 'log_std']
    optimizer = torch.optim.Adam(parameters, lr=learning_rate)

    def rms():
        with torch.no_grad():
            return float((actor.mean(zero_state, phases) - targets).pow(2).mean().sqrt())

    before = rms()
    for _ in range(steps):
        optimizer.zero_grad()
        loss = (actor.mean(zero_state, phases) - targets).pow(2).mean()
        loss.backward()
        optimizer.step()
    return before, rms()


def warm_start_from_clip(actor, env, steps=400, samples=200):
    """Fit ``actor`` to ``env``'s clip (one control step of lead); returns the RMS errors."""
    phases = np.arange(samples) / samples
    targets = reference_actions(env.clip, env.default_pose, env.config.action_scale,
                                env.control_dt, phases)
    return fit_to_reference(actor, phases, targets, steps)
