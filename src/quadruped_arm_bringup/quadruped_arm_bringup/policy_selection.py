"""
Which exported policy a launch runs, checked against the task it was asked to perform.

The shipped policies are directories named ``<kind>_<clip>`` under the package's ``policies``
folder, and ``task:=<clip>`` picks ``lpn_<clip>`` unless a policy is named. The controller reads
the motion clip and its phase period from the policy's metadata, so a policy trained on another
clip would silently perform that clip: launches refuse the mismatch here, before a node starts.
"""

from pathlib import Path

from lpn_controller.policy_format import load_policy


class PolicySelectionError(ValueError):
    """The policy cannot be found, cannot be read, or does not fit the task; says which."""


def shipped_policy_path(policies_dir, task, kind='lpn'):
    """Return where the shipped ``<kind>_<task>`` policy lives under ``policies_dir``."""
    return Path(policies_dir) / f'{kind}_{task}'


def shipped_policy_names(policies_dir):
    """Return the names of the policies shipped in ``policies_dir`` (sorted)."""
    folder = Path(policies_dir)
    if not folder.is_dir():
        return []
    return sorted(path.name for path in folder.iterdir() if (path / 'policy.yaml').is_file())


def select_policy(policy, task, policies_dir):
    """
    Check that ``policy`` exists, loads and was trained on ``task``; return it loaded.

    ``policy`` is a directory or archive path (the launch default is the shipped
    ``lpn_<task>``); ``task`` is a motion clip name. Errors name the path, the clip the policy
    was trained on and the shipped alternatives.
    """
    if not str(policy).strip():
        raise PolicySelectionError('the policy argument is empty: pass policy:=PATH to an '
                                   'exported policy directory or archive')
    path = Path(policy).expanduser()
    if not path.exists():
        shipped = ', '.join(shipped_policy_names(policies_dir)) or 'none'
        raise PolicySelectionError(
            f'no policy at {path} (task {task!r}); shipped policies in {policies_dir}: '
            f'{shipped}; pass policy:=PATH for another one')
    try:
        loaded = load_policy(path)
    except (ValueError, OSError) as error:
        raise PolicySelectionError(f'cannot load policy {path}: {error}') from error
    clip = loaded.metadata.motion_clip
    if task and clip != task:
        raise PolicySelectionError(
            f'policy {path} was trained on clip {clip!r} but task is {task!r}: pass '
            f'task:={clip} to run it, or a policy trained on {task!r}')
    return loaded
