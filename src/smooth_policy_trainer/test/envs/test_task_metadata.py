"""The task fields as plain types: what a checkpoint stores and export reads back."""

from lpn_controller.observation import ObservationTerm
from smooth_policy_trainer.envs.task_metadata import task_to_plain


def test_observation_terms_become_plain_mappings():
    fields = {'clip': 'trot', 'observation_terms': (
        ObservationTerm('projected_gravity', 3, 1.0),
        ObservationTerm('joint_positions', 2, (1.0, 0.5)))}
    plain = task_to_plain(fields)
    assert plain['clip'] == 'trot'
    assert plain['observation_terms'] == [
        {'name': 'projected_gravity', 'size': 3, 'scale': 1.0},
        {'name': 'joint_positions', 'size': 2, 'scale': [1.0, 0.5]}]
    assert isinstance(fields['observation_terms'][0], ObservationTerm)   # left as it was
