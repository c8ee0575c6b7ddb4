"""
The clip files: a ``<name>.yaml`` header and a ``<name>.npz`` of frames (format in clips.py).

Reading and writing the files, and the shipped clips' names, need neither MuJoCo nor a robot
model, so a training config can be checked without them.
"""

import io
from pathlib import Path
import zipfile

from lpn_controller.config_files import read_yaml_mapping
import numpy as np
import yaml

FORMAT_VERSION = 1
UNITS = {'length': 'm', 'angle': 'rad', 'time': 's', 'quaternion': 'wxyz'}
ARRAY_NAMES = ('root_position', 'root_orientation', 'joint_positions')
SHIPPED_CLIP_DIR = Path(__file__).resolve().parents[1] / 'data' / 'clips'
# Stored angles are rounded to 1e-6 rad; a clip may touch a limit but not cross it.
JOINT_LIMIT_TOLERANCE = 1e-3
QUATERNION_NORM_TOLERANCE = 1e-4
_HEADER_FIELDS = (
    'format_version', 'name', 'description', 'frame_rate_hz', 'frame_count', 'duration_s',
    'phase_period_s', 'loop', 'root_displacement_per_cycle', 'joint_names', 'units', 'generator',
)


class ClipError(ValueError):
    """A motion clip that cannot be used; the message names the file and the field."""


def list_shipped_clips():
    """Names of the clips shipped with the package, sorted."""
    return tuple(sorted(path.stem for path in SHIPPED_CLIP_DIR.glob('*.yaml')))


def shipped_clip_path(name):
    """Return the common stem of a shipped clip's two files (``data/clips/<name>``)."""
    if name not in list_shipped_clips():
        raise ClipError(f"no shipped clip '{name}' in {SHIPPED_CLIP_DIR}; the shipped clips are "
                        f'{list(list_shipped_clips())}')
    return SHIPPED_CLIP_DIR / name


def read_clip_header(clip):
    """Return the checked header of a clip: a shipped clip's name or a clip's path."""
    path = clip if Path(clip).suffix in ('.yaml', '.npz') else shipped_clip_path(clip)
    return read_header(clip_file_paths(path)[0])


def save_clip(clip, directory):
    """Write ``<name>.yaml`` and ``<name>.npz`` into ``directory``; equal clips, equal bytes."""
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    header = {
        'format_version': FORMAT_VERSION, 'name': clip.name, 'description': clip.description,
        'frame_rate_hz': clip.frame_rate_hz, 'frame_count': clip.frame_count,
        'duration_s': clip.duration_s, 'phase_period_s': clip.phase_period_s, 'loop': clip.loop,
        'root_displacement_per_cycle': clip.root_displacement_per_cycle,
        'joint_names': clip.joint_names, 'units': UNITS, 'generator': clip.generator,
    }
    header_path, arrays_path = clip_file_paths(directory / clip.name)
    header_path.write_text(
        f'# Motion clip header (smooth_policy_trainer.clips format {FORMAT_VERSION}); the frames '
        f'are in {arrays_path.name}.\n'
        + yaml.safe_dump(_plain(header), sort_keys=False, width=99))
    # np.savez stamps the current time into the zip; fixed entry metadata keeps bytes stable.
    with zipfile.ZipFile(arrays_path, 'w') as archive:
        for name in ARRAY_NAMES:
            buffer = io.BytesIO()
            np.lib.format.write_array(buffer, np.ascontiguousarray(getattr(clip, name)),
                                      allow_pickle=False)
            info = zipfile.ZipInfo(name + '.npy', date_time=(1980, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            archive.writestr(info, buffer.getvalue())
    return header_path, arrays_path


def clip_file_paths(path):
    """Return (header, arrays) paths of a clip given its .yaml, .npz or common stem."""
    path = Path(path)
    stem = path.with_suffix('') if path.suffix in ('.yaml', '.npz') else path
    return stem.parent / (stem.name + '.yaml'), stem.parent / (stem.name + '.npz')


def read_header(path):
    """Return the checked header mapping of a clip's .yaml file."""
    def fail(message):
        raise ClipError(f'{path}: {message}')

    header = read_yaml_mapping(path, what='clip header', fail=fail)
    missing = [key for key in _HEADER_FIELDS if key not in header]
    if missing:
        fail(f'missing field(s) {missing}')
    unknown = sorted(set(header) - set(_HEADER_FIELDS))
    if unknown:
        fail(f'unknown field(s) {unknown}; known fields are {list(_HEADER_FIELDS)}')
    if header['format_version'] != FORMAT_VERSION:
        fail(f"field 'format_version' is {header['format_version']!r}; this reader knows "
             f'version {FORMAT_VERSION}')
    if header['units'] != UNITS:
        fail(f"field 'units' must be {UNITS}, got {header['units']!r}")
    expected_types = {'name': str, 'description': str, 'loop': bool, 'frame_count': int,
                      'frame_rate_hz': (int, float), 'duration_s': (int, float),
                      'phase_period_s': (int, float), 'joint_names': list, 'generator': dict,
                      'root_displacement_per_cycle': list}
    for key, kind in expected_types.items():
        value = header[key]
        if not isinstance(value, kind) or (kind is not bool and isinstance(value, bool)):
            fail(f"field '{key}' has the wrong type ({type(value).__name__}): {value!r}")
    if not 0 < header['frame_rate_hz'] < np.inf:
        fail(f"field 'frame_rate_hz' must be positive, got {header['frame_rate_hz']}")
    displacement = header['root_displacement_per_cycle']
    if len(displacement) != 3 or not all(
            isinstance(v, (int, float)) and not isinstance(v, bool) for v in displacement):
        fail(f"field 'root_displacement_per_cycle' must be 3 numbers (m), got {displacement!r}")
    return header


def read_arrays(path):
    """Return the checked arrays of a clip's .npz file."""
    try:
        with np.load(path, allow_pickle=False) as archive:
            arrays = {name: archive[name] for name in archive.files}
    except OSError as error:
        raise ClipError(f'{path}: cannot read clip frames ({error.strerror or error})') from None
    except (ValueError, zipfile.BadZipFile) as error:
        raise ClipError(f'{path}: not a valid .npz archive of arrays: {error}') from None
    missing = [name for name in ARRAY_NAMES if name not in arrays]
    if missing:
        raise ClipError(f'{path}: missing array(s) {missing}; a clip holds {list(ARRAY_NAMES)}')
    unknown = sorted(set(arrays) - set(ARRAY_NAMES))
    if unknown:
        raise ClipError(f'{path}: unknown array(s) {unknown}; a clip holds {list(ARRAY_NAMES)}')
    return arrays


def _plain(value):
    """Convert numpy scalars, arrays and tuples to the plain types yaml.safe_dump writes."""
    if isinstance(value, dict):
        return {str(key): _plain(item) for key, item in value.items()}
    if isinstance(value, (list, tuple, np.ndarray)):
        return [_plain(item) for item in value]
    if isinstance(value, np.generic):
        return value.item()
    return value
