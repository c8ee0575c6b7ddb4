"""
Exported-policy files: write, read and validate a policy directory or archive.

A policy is a directory holding ``policy.yaml`` (metadata, see policy_metadata.py) and
``weights.npz`` (numpy arrays, names and shapes fixed by :func:`expected_weight_shapes`), or a
``.tar.gz``/``.tgz``/``.zip`` archive of such a directory. POLICY_FORMAT.md documents both.
"""

from dataclasses import dataclass
import io
import os
from pathlib import Path
import shutil
import tarfile
import tempfile
from typing import Dict, Mapping, Tuple, Union
import zipfile

from lpn_controller.policy_metadata import (
    metadata_from_dict, metadata_to_dict, PolicyFormatError, PolicyMetadata)
import numpy as np
import yaml

METADATA_FILE = 'policy.yaml'
WEIGHTS_FILE = 'weights.npz'
ARCHIVE_SUFFIXES = ('.tar.gz', '.tgz', '.zip')

PathLike = Union[str, os.PathLike]


@dataclass(frozen=True, eq=False)
class ExportedPolicy:
    """A validated policy: metadata, weights by name, and where it was read from."""

    metadata: PolicyMetadata
    weights: Dict[str, np.ndarray]
    source: str = '<memory>'


def expected_weight_shapes(metadata: PolicyMetadata) -> Dict[str, Tuple[int, ...]]:
    """
    Return every weight array name with its shape, as the metadata dictates.

    Layers follow torch.nn.Linear: ``<layer>.weight`` is (out, in), ``<layer>.bias`` is (out,).
    Hidden layers are ``hidden.0``, ``hidden.1``, ... . Inputs: the LPN phase network takes the
    2H phase features; the MLP takes the normalised observation followed by the 2H features.
    Heads: LPN ``gain_u`` (m*r outputs, reshaped row-major to U (m, r)), ``gain_v`` (n*r, to
    V (n, r)), or ``gain`` (m*n, to K (m, n)) when rank is null, and ``offset`` (m, k(phase));
    MLP ``output`` (m).
    """
    network = metadata.network
    num_actions = metadata.num_joints
    observation_size = metadata.observation_size
    width = 2 * network.phase_harmonics
    if metadata.kind == 'mlp':
        width += observation_size
    shapes = {}
    for index, size in enumerate(network.hidden_sizes):
        shapes[f'hidden.{index}.weight'] = (size, width)
        shapes[f'hidden.{index}.bias'] = (size,)
        width = size
    if metadata.kind == 'mlp':
        heads = {'output': num_actions}
    elif network.rank is None:
        heads = {'gain': num_actions * observation_size, 'offset': num_actions}
    else:
        heads = {'gain_u': num_actions * network.rank,
                 'gain_v': observation_size * network.rank,
                 'offset': num_actions}
    for name, size in heads.items():
        shapes[f'{name}.weight'] = (size, width)
        shapes[f'{name}.bias'] = (size,)
    return shapes


def validate_weights(metadata: PolicyMetadata, weights: Mapping[str, np.ndarray],
                     source: str = WEIGHTS_FILE) -> Dict[str, np.ndarray]:
    """Check names, shapes, dtype and finiteness; return the weights as a plain dict."""
    expected = expected_weight_shapes(metadata)
    for name, shape in expected.items():
        if name not in weights:
            raise PolicyFormatError(
                source, name, f'missing weight array (expected shape {shape} for this metadata)')
        array = np.asarray(weights[name])
        if not np.issubdtype(array.dtype, np.floating):
            raise PolicyFormatError(source, name, f'expected floating point, got {array.dtype}')
        if array.shape != shape:
            raise PolicyFormatError(
                source, name, f'shape {array.shape} does not match the metadata, expected '
                f'{shape} (kind {metadata.kind}, {metadata.num_joints} joints, observation size '
                f'{metadata.observation_size}, network {metadata.network})')
        if not np.all(np.isfinite(array)):
            raise PolicyFormatError(source, name, 'contains NaN or infinite values')
    extra = sorted(set(weights) - set(expected))
    if extra:
        raise PolicyFormatError(source, extra[0], 'unexpected weight array for this metadata')
    return {name: np.asarray(weights[name]) for name in expected}


def save_policy(path: PathLike, metadata: PolicyMetadata,
                weights: Mapping[str, np.ndarray]) -> Path:
    """
    Validate and write a policy; return the path written.

    ``path`` is a directory (created; existing policy files in it are replaced) unless it ends
    with .tar.gz, .tgz or .zip, in which case an archive holding the two files is written.
    The metadata is round-tripped through the reader first, so a file that would not load is
    never written.
    """
    path = Path(path)
    metadata = metadata_from_dict(metadata_to_dict(metadata), source=f'{path}:{METADATA_FILE}')
    weights = validate_weights(metadata, weights, source=f'{path}:{WEIGHTS_FILE}')
    try:
        metadata_text = yaml.safe_dump(metadata_to_dict(metadata), sort_keys=False,
                                       default_flow_style=None, width=99)
    except yaml.YAMLError as error:
        raise PolicyFormatError(f'{path}:{METADATA_FILE}', 'provenance.training_config',
                                'must hold plain YAML types (mappings, lists, strings, numbers, '
                                f'booleans, null): {error}') from None
    weights_buffer = io.BytesIO()
    np.savez(weights_buffer, **weights)
    files = {METADATA_FILE: metadata_text.encode('utf-8'),
             WEIGHTS_FILE: weights_buffer.getvalue()}
    if _is_archive(path):
        _write_archive(path, files)
    else:
        path.mkdir(parents=True, exist_ok=True)
        for name, payload in files.items():
            (path / name).write_bytes(payload)
    return path


def load_policy(path: PathLike) -> ExportedPolicy:
    """Read and validate a policy directory or archive; raise PolicyFormatError on any problem."""
    path = Path(path)
    if not path.exists():
        raise PolicyFormatError(str(path), '<path>', 'no such file or directory')
    if path.is_dir():
        files = {}
        for name in (METADATA_FILE, WEIGHTS_FILE):
            if not (path / name).is_file():
                raise PolicyFormatError(str(path / name), '<file>',
                                        f'missing: a policy directory must hold {name}')
            files[name] = (path / name).read_bytes()
        prefix = str(path) + os.sep
    elif _is_archive(path):
        files = _read_archive(path)
        prefix = f'{path}:'
    else:
        raise PolicyFormatError(
            str(path), '<path>',
            f'not a policy directory or archive ({", ".join(ARCHIVE_SUFFIXES)})')
    metadata_source = prefix + METADATA_FILE
    weights_source = prefix + WEIGHTS_FILE
    try:
        data = yaml.safe_load(files[METADATA_FILE].decode('utf-8'))
    except (yaml.YAMLError, UnicodeDecodeError) as error:
        raise PolicyFormatError(metadata_source, '<file>', f'not valid YAML: {error}') from None
    metadata = metadata_from_dict(data, source=metadata_source)
    weights = _read_npz(files[WEIGHTS_FILE], weights_source)
    weights = validate_weights(metadata, weights, source=weights_source)
    return ExportedPolicy(metadata=metadata, weights=weights, source=str(path))


def _is_archive(path: Path) -> bool:
    return path.name.endswith(ARCHIVE_SUFFIXES)


def _read_npz(payload: bytes, source: str) -> Dict[str, np.ndarray]:
    try:
        with np.load(io.BytesIO(payload), allow_pickle=False) as archive:
            return {name: archive[name] for name in archive.files}
    except (ValueError, OSError, EOFError, zipfile.BadZipFile) as error:
        raise PolicyFormatError(source, '<file>',
                                f'not a readable numpy .npz archive: {error}') from None


def _write_archive(path: Path, files: Mapping[str, bytes]):
    # The archive holds one folder named after it, so unpacking it gives a policy directory.
    folder = path.name
    for suffix in ARCHIVE_SUFFIXES:
        if folder.endswith(suffix):
            folder = folder[:-len(suffix)]
    path.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as staging:
        staging_path = Path(staging) / path.name
        if path.name.endswith('.zip'):
            with zipfile.ZipFile(staging_path, 'w', zipfile.ZIP_DEFLATED) as archive:
                for name, payload in files.items():
                    archive.writestr(f'{folder}/{name}', payload)
        else:
            with tarfile.open(staging_path, 'w:gz') as archive:
                for name, payload in files.items():
                    info = tarfile.TarInfo(f'{folder}/{name}')
                    info.size = len(payload)
                    info.mode = 0o644
                    archive.addfile(info, io.BytesIO(payload))
        shutil.move(str(staging_path), str(path))


def _read_archive(path: Path) -> Dict[str, bytes]:
    # Members are read into memory, never extracted, so hostile member paths cannot escape.
    members = {}
    try:
        if path.name.endswith('.zip'):
            with zipfile.ZipFile(path) as archive:
                for info in archive.infolist():
                    if not info.is_dir():
                        members[info.filename] = archive.read(info)
        else:
            with tarfile.open(path, 'r:gz') as archive:
                for info in archive.getmembers():
                    if info.isfile():
                        members[info.name] = archive.extractfile(info).read()
    except (tarfile.TarError, zipfile.BadZipFile, OSError, EOFError) as error:
        raise PolicyFormatError(str(path), '<file>', f'unreadable archive: {error}') from None
    files = {}
    for name in (METADATA_FILE, WEIGHTS_FILE):
        candidates = [member for member in members
                      if member.lstrip('./') == name
                      or (member.endswith('/' + name) and member.lstrip('./').count('/') == 1)]
        if not candidates:
            raise PolicyFormatError(f'{path}:{name}', '<file>',
                                    f'missing: the archive must hold {name} at its top level '
                                    'or inside one top-level folder')
        if len(candidates) > 1:
            raise PolicyFormatError(f'{path}:{name}', '<file>',
                                    f'ambiguous: several copies ({", ".join(candidates)})')
        files[name] = members[candidates[0]]
    return files
