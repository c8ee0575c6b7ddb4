"""The environment's task fields (ImitationEnv.policy_metadata()) as checkpoint-friendly types."""


def task_to_plain(fields):
    """Return ImitationEnv.policy_metadata() as checkpoint-friendly plain types and arrays."""
    plain = dict(fields)
    plain['observation_terms'] = [
        {'name': term.name, 'size': int(term.size),
         'scale': list(term.scale) if isinstance(term.scale, tuple) else float(term.scale)}
        for term in fields['observation_terms']]
    return plain
