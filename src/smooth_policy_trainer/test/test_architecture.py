"""Architecture rules of the trainer: folders by role, imports flow one way (README layout)."""

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / 'smooth_policy_trainer'
NAME = 'smooth_policy_trainer'
FOLDERS = ('config', 'motion', 'networks', 'smoothing', 'algorithms', 'envs', 'evaluation',
           'runners', 'cli')
# What each folder may import from the trainer (itself included). The learning parts
# (networks, smoothing, algorithms) and the environments never reach up to runners, cli or
# evaluation; config, at the bottom, reads only the names of the shipped clips.
ALLOWED = {
    'config': {'config', 'motion'},   # motion.clip_files: the shipped clips' names
    'motion': {'motion', 'config'},
    'networks': {'networks', 'config'},
    'smoothing': {'smoothing', 'networks', 'config'},
    'algorithms': {'algorithms', 'smoothing', 'networks', 'config'},
    'envs': {'envs', 'motion', 'config'},
    'evaluation': {'evaluation', 'envs', 'motion', 'config'},
    'runners': set(FOLDERS) - {'cli'},
    'cli': set(FOLDERS),
}
ENTRY_POINTS = {'train', 'train_offpolicy', 'evaluate', 'export', 'study'}
MAX_LINES = 400
LONG_REASON = 'Longer than 400 lines because'


def trainer_imports(path):
    """Return the trainer folders (or top-level modules) a module imports."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        names = []
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names = [node.module] if node.module != NAME else \
                [f'{NAME}.{alias.name}' for alias in node.names]
        for name in names:
            parts = name.split('.')
            if parts[0] == NAME and len(parts) > 1:
                found.add(parts[1])
    return found


def modules():
    return sorted(PACKAGE.rglob('*.py'))


def test_every_module_lives_in_a_role_folder():
    top_level = {path.stem for path in PACKAGE.glob('*.py')}
    assert top_level == ENTRY_POINTS | {'__init__'}
    assert {path.name for path in PACKAGE.iterdir() if path.is_dir()} - {'__pycache__'} == \
        set(FOLDERS) | {'data'}
    for folder in FOLDERS:
        assert (PACKAGE / folder / '__init__.py').is_file(), folder


def test_imports_flow_down_the_layers():
    offenders = {}
    for folder in FOLDERS:
        for path in (PACKAGE / folder).glob('*.py'):
            extra = trainer_imports(path) - ALLOWED[folder]
            if extra:
                offenders[f'{folder}/{path.name}'] = sorted(extra)
    assert not offenders, offenders


def test_learning_parts_never_import_runners_cli_or_evaluation():
    for folder in ('networks', 'algorithms', 'smoothing', 'envs'):
        for path in (PACKAGE / folder).glob('*.py'):
            assert not trainer_imports(path) & {'runners', 'cli', 'evaluation'}, path


def test_the_entry_modules_only_call_into_cli():
    for name in ENTRY_POINTS:
        path = PACKAGE / f'{name}.py'
        assert trainer_imports(path) == {'cli'}, name
        assert len(path.read_text().splitlines()) < 15, name


def test_long_modules_say_why_at_the_top():
    for path in modules():
        text = path.read_text()
        if len(text.splitlines()) > MAX_LINES:
            docstring = ast.get_docstring(ast.parse(text)) or ''
            assert LONG_REASON in docstring, f'{path.relative_to(PACKAGE)}: ' \
                f'{len(text.splitlines())} lines and no reason at the top'


def test_setup_installs_every_folder():
    # find_packages picks up every folder with an __init__.py (checked above).
    setup = (PACKAGE.parent / 'setup.py').read_text()
    assert "packages=find_packages(exclude=['test'])" in setup


def test_reading_a_config_needs_neither_torch_nor_mujoco():
    import subprocess
    import sys
    code = ('import sys\n'
            'from smooth_policy_trainer.config import load_offpolicy_config, load_train_config\n'
            "load_train_config('lpn_trot_arm_wave', ['run.iterations=3'])\n"
            "load_offpolicy_config('td3_pave_trot_arm_wave')\n"
            "heavy = [name for name in ('torch', 'mujoco', 'gymnasium', 'sim_bridge.simulator')\n"
            '         if name in sys.modules]\n'
            'print(heavy)\n')
    result = subprocess.run([sys.executable, '-c', code], capture_output=True, text=True,
                            check=True)
    assert result.stdout.strip() == '[]', result.stdout + result.stderr


def test_choices_name_what_the_implementations_offer():
    from sim_bridge.physics import PHYSICS_CONFIGS
    from smooth_policy_trainer.config import choices
    from smooth_policy_trainer.networks.policies import ACTIVATIONS
    assert set(choices.ACTIVATIONS) == set(ACTIVATIONS)
    assert set(choices.PHYSICS) == set(PHYSICS_CONFIGS)


def test_the_tests_mirror_the_folders():
    tests = Path(__file__).resolve().parent
    folders = {path.name for path in tests.iterdir() if path.is_dir()} - {'__pycache__'}
    assert folders <= set(FOLDERS), folders - set(FOLDERS)
    assert {path.name for path in tests.glob('test_*.py')} == {
        'test_architecture.py', 'test_flake8.py', 'test_pep257.py'}
