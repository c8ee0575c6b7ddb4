"""
One aggregation of the smoothness metrics (METHODS.md 8) over evaluation episodes.

Each episode's figures come from lpn_controller.metrics.smoothness_report; the aggregate of a
metric is its mean over the episodes long enough to measure (MIN_WINDOW samples; shorter ones,
early falls, are left out by the caller), with the window lengths it was measured over.
"""

import numpy as np

MIN_WINDOW = 16          # samples; shorter episodes (early falls) are left out of the metrics


def aggregate_smoothness(reports, sample_rate_hz, names=None):
    """
    Return {metric: {value, unit, sample_rate_hz, window_length(_min), episodes, parameters}}.

    ``reports`` holds one {name: MetricResult} per measured episode. ``names`` fixes the metrics
    reported (a metric no episode measured gets value None); by default, those the reports hold.
    """
    if names is None:
        names = list(dict.fromkeys(name for report in reports for name in report))
    aggregate = {}
    for name in names:
        metrics = [report[name] for report in reports if name in report]
        windows = [metric.window_length for metric in metrics]
        aggregate[name] = {
            'value': float(np.mean([metric.value for metric in metrics])) if metrics else None,
            'unit': metrics[-1].unit if metrics else None,
            'sample_rate_hz': sample_rate_hz,
            'window_length': int(round(np.mean(windows))) if windows else 0,
            'window_length_min': int(min(windows)) if windows else 0,
            'episodes': len(metrics),
            'parameters': metrics[-1].parameters if metrics else {},
        }
    return aggregate
