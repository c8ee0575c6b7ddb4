"""
The smoothness study's grid: methods, tasks, each clip's world targets, and time to target.

Every run of the study trains from one base config (BASE_CONFIG with BASE_OVERRIDES: the
formulation the shipped policies were trained with) plus its task's overrides plus its method's
switches, nothing else. A run has reached its target at the first periodic evaluation whose
figures meet every one of its clip's TARGETS; smoothness is compared there, at equal tracking by
construction.

TD3 + PAVE is not in the grid: it makes one update per transition, about 40 ms each on the
2-core development machine, so the 3-4.6 M transitions after which PPO policies meet the trot
targets would take 35-50 hours per run, and a shorter budget of its own would not say whether or
when it reaches the targets, which is what this study measures. bench/pave_reproduction.py
compares it on the tasks of its paper instead.
"""

from dataclasses import dataclass
import math

BASE_CONFIG = 'lpn_trot_arm_wave'
# What the shipped policies were trained with on top of that config (their policy.yaml
# provenance): fast physics, odometry and heading in the observation, the sharper root velocity
# term. Without them policies trot in place (docs/results.md).
BASE_OVERRIDES = (
    'env.physics=fast',
    'env.base_linear_velocity.enabled=true',
    'env.observe_heading=true',
    'env.reward_terms.root_velocity={weight: 0.25, scale: 10.0}',
)

NO_PENALTY = ('penalty.enabled=false',)
MLP = ('policy.kind=mlp', *NO_PENALTY)


def _lpn_penalty(weight):
    return ('policy.kind=lpn', 'penalty.enabled=true', 'penalty.method=closed_form',
            f'penalty.weight={weight}')


def _mlp_penalty(method):
    # The LPN's weight (0.05): both penalise ||da/ds||_F^2 on the same normalised observations
    # and action units, so the paper's comparison (LPN + penalty against MLP + penalty) is like
    # for like.
    return ('policy.kind=mlp', 'penalty.enabled=true', f'penalty.method={method}',
            'penalty.weight=0.05')


# name: (label, --set switches on the base config)
METHODS = {
    'mlp': ('MLP, no regularisation', MLP),
    'lpn': ('LPN, no regularisation', ('policy.kind=lpn', *NO_PENALTY)),
    'lpn_jacobian': ('LPN + Jacobian penalty (w 0.05)', _lpn_penalty(0.05)),
    'lpn_jacobian_0.005': ('LPN + Jacobian penalty (w 0.005)', _lpn_penalty(0.005)),
    'lpn_jacobian_0.5': ('LPN + Jacobian penalty (w 0.5)', _lpn_penalty(0.5)),
    'mlp_jacobian_exact': ('MLP + exact Jacobian penalty (w 0.05)', _mlp_penalty('exact')),
    'mlp_jacobian_estimator': ('MLP + one-VJP Jacobian estimator (w 0.05)',
                               _mlp_penalty('estimator')),
    'action_rate_0.01': ('MLP + action-rate reward (w 0.01)',
                         (*MLP, 'env.action_rate_weight=0.01')),
    'action_rate_0.1': ('MLP + action-rate reward (w 0.1)', (*MLP, 'env.action_rate_weight=0.1')),
    'action_rate_1': ('MLP + action-rate reward (w 1)', (*MLP, 'env.action_rate_weight=1.0')),
    'low_pass': ('MLP + low-pass filter (alpha 0.5)', (*MLP, 'env.action_filter_alpha=0.5')),
    'caps': ('MLP + CAPS', (*MLP, 'caps.enabled=true')),
    'gp_lcp': ('MLP + GP-LCP (w 0.002)', (*MLP, 'gradient_penalty.enabled=true')),
    'spectral_norm': ('MLP + SN (lambda 1, hidden layers)', (*MLP, 'policy.spectral_norm=true')),
}


@dataclass(frozen=True)
class Target:
    """One world target: a figure of an evaluation compared with a bound."""

    figure: str          # a key of evaluation_figures()
    compare: str         # '>=' , '<=' or 'abs<=' (|figure| <= bound)
    bound: float

    def met(self, figures):
        """Return whether ``figures`` (evaluation_figures()) meet this target; None fails."""
        value = figures.get(self.figure)
        if value is None or not math.isfinite(value):
            return False
        if self.compare == '>=':
            return value >= self.bound
        if self.compare == '<=':
            return value <= self.bound
        if self.compare == 'abs<=':
            return abs(value) <= self.bound
        raise ValueError(f"target on {self.figure}: unknown comparison '{self.compare}'")

    def __str__(self):
        """Format as e.g. ``forward_speed_m_s >= 0.45``."""
        if self.compare == 'abs<=':
            return f'|{self.figure}| <= {self.bound:g}'
        return f'{self.figure} {self.compare} {self.bound:g}'


# The trot targets the shipped policies meet (issue 15), and hop's: a flight phase in every
# cycle (at least half the reference's flight time) with the apex within 3 cm.
TROT_TARGETS = (
    Target('forward_speed_m_s', '>=', 0.45),
    Target('lateral_speed_m_s', 'abs<=', 0.05),
    Target('heading_drift_deg_per_s', 'abs<=', 1.0),
    Target('joint_rmse_rad', '<=', 0.10),
    Target('survival_rate', '>=', 1.0),
)
HOP_TARGETS = (
    Target('hop_cycles_with_flight', '>=', 1.0),
    Target('hop_apex_error_max_m', '<=', 0.03),
    Target('survival_rate', '>=', 1.0),
)


@dataclass(frozen=True)
class Task:
    """A clip of the study: its world targets and its own overrides of the base config."""

    targets: tuple
    overrides: tuple = ()


TASKS = {
    'trot_arm_wave': Task(TROT_TARGETS),
    # The reward terms the shipped lpn_hop was trained with: a stiff root (height and tilt) term
    # and the feet's world height, which is what made it fly.
    'hop': Task(HOP_TARGETS, ('env.reward_terms.root={weight: 0.15, scale: 200.0}',
                              'env.reward_terms.end_effector_height={weight: 0.5, '
                              'scale: 1000.0}')),
}

# The figures a study keeps from each evaluation: (name, path into an evaluate_policy result).
FIGURE_PATHS = {
    'return': ('return',),
    'joint_rmse_rad': ('joint_rmse_rad',),
    'end_effector_rmse_m': ('end_effector_rmse_m',),
    'survival_rate': ('survival_rate',),
    # Where evaluation reports them (issue 31): episodes that fell, and that went unstable.
    'fall_rate': ('fall_rate',),
    'unstable_rate': ('unstable_rate',),
    'forward_speed_m_s': ('forward_speed_m_s',),
    'lateral_speed_m_s': ('lateral_speed_m_s',),
    'heading_drift_deg_per_s': ('heading_drift_deg_per_s',),
    'root_position_error_rms_m': ('world', 'root_position_error_rms_m'),
    'hop_cycles_with_flight': ('world', 'hop', 'cycles_with_flight'),
    'hop_flight_time_s': ('world', 'hop', 'flight_time_s'),
    'hop_apex_error_max_m': ('world', 'hop', 'apex_error_max_m'),
    'hfr': ('smoothness', 'hfr', 'value'),
    'hfr_power_weighted': ('smoothness', 'hfr_power_weighted', 'value'),
    'sm': ('smoothness', 'sm', 'value'),
    'action_rate': ('smoothness', 'action_rate', 'value'),
    'second_difference': ('smoothness', 'second_difference', 'value'),
    'jerk': ('smoothness', 'jerk', 'value'),
}


def evaluation_figures(result):
    """Return the study's flat figures of one evaluate_policy result (None where absent)."""
    figures = {}
    for name, path in FIGURE_PATHS.items():
        node = result
        for key in path:
            node = node.get(key) if isinstance(node, dict) else None
        figures[name] = float(node) if isinstance(node, (int, float)) else None
    return figures


def unmet_targets(figures, targets):
    """Return the targets (as text) that ``figures`` miss; empty when all are met."""
    return [str(target) for target in targets if not target.met(figures)]


def first_at_target(evaluations, targets):
    """
    Return the first evaluation (a dict with 'figures') meeting every target, or None.

    ``evaluations`` are in training order; the first one that meets the targets is where the
    run reached them, whatever later evaluations do.
    """
    for evaluation in evaluations:
        if not unmet_targets(evaluation['figures'], targets):
            return evaluation
    return None


def time_to_target(evaluations, targets):
    """
    Return the run's time to target from its evaluations in training order.

    {'time_to_target_s', 'wall_to_target_s', 'env_steps_to_target', 'iterations_to_target'}
    read from the first evaluation that meets the targets (its 'train_s', 'wall_s',
    'env_steps', 'iteration'); all None when none does.
    """
    reached = first_at_target(evaluations, targets)
    keys = {'time_to_target_s': 'train_s', 'wall_to_target_s': 'wall_s',
            'env_steps_to_target': 'env_steps', 'iterations_to_target': 'iteration'}
    return {name: None if reached is None else reached[key] for name, key in keys.items()}


def run_name(task, method, seed):
    """Return the run's relative path: <task>/<method>/seed<seed>."""
    return f'{task}/{method}/seed{seed}'


def check_grid(tasks, methods):
    """Raise ValueError naming any unknown task or method."""
    unknown = [task for task in tasks if task not in TASKS]
    if unknown:
        raise ValueError(f"unknown task(s) {', '.join(unknown)}; the study knows "
                         f"{', '.join(TASKS)}")
    unknown = [method for method in methods if method not in METHODS]
    if unknown:
        raise ValueError(f"unknown method(s) {', '.join(unknown)}; the study knows "
                         f"{', '.join(METHODS)}")
