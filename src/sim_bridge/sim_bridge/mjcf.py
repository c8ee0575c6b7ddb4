"""
MJCF loading for any robot model, and the name checks a robot configuration is held to.

Models are compiled through ``mujoco.MjSpec`` so that a model from elsewhere (MuJoCo Menagerie,
say) can be adapted before compiling instead of edited by hand:

* geoms whose mesh files are absent are dropped, with one warning listing them, so the physics
  runs from the XML alone (for Menagerie's Spot that leaves the foot spheres as the only
  colliders, which is what flat-ground training uses);
* sites the configuration asks for (``sites:``) are added to the named bodies;
* a model with no ground plane loads with a warning that the robot has nothing to stand on.

:func:`check_names` checks every name a configuration gives against the compiled model; each
problem names the field and lists the model's candidates.
"""

import os
from pathlib import Path
import warnings

import mujoco
import numpy as np
from sim_bridge.instability import route_mujoco_messages


class MissingMeshWarning(UserWarning):
    """Geoms were dropped because their mesh files are absent."""


class NoGroundWarning(UserWarning):
    """The model has nothing for the robot to stand on."""


# The MuJoCo sensor type each IMU reading must come from.
IMU_SENSOR_TYPES = {
    'orientation': mujoco.mjtSensor.mjSENS_FRAMEQUAT,
    'angular_velocity': mujoco.mjtSensor.mjSENS_GYRO,
    'linear_acceleration': mujoco.mjtSensor.mjSENS_ACCELEROMETER,
}
_COMMANDABLE = (int(mujoco.mjtJoint.mjJNT_HINGE), int(mujoco.mjtJoint.mjJNT_SLIDE))
_warned = set()   # (kind, model path): each model's warnings once per process, not per compile


def _warn_once(path, message, category):
    if (category, str(path)) not in _warned:
        _warned.add((category, str(path)))
        warnings.warn(message, category, stacklevel=3)


def compile_model(path, sites=None):
    """
    Compile the MJCF at ``path`` into an MjModel; raises ValueError naming the problem.

    ``sites`` maps new site names to ``{'body': name, 'pos': [x, y, z]}``, added before
    compiling.
    """
    path = Path(path)
    route_mujoco_messages()   # compile warnings too go to logging, not to MUJOCO_LOG.TXT
    try:
        spec = mujoco.MjSpec.from_file(str(path))
    except ValueError as error:
        raise ValueError(f'MuJoCo cannot parse {path}: {error}') from None
    _drop_missing_meshes(spec, path)
    for name, where in (sites or {}).items():
        body = spec.body(where['body'])
        if body is None:
            raise ValueError(f"site '{name}': no body '{where['body']}' in {path}; its bodies "
                             f'are {[b.name for b in spec.bodies]}')
        body.add_site(name=name, pos=list(where.get('pos', (0.0, 0.0, 0.0))), size=[0.01] * 3)
    try:
        model = spec.compile()
    except ValueError as error:
        raise ValueError(f'MuJoCo cannot compile {path}: {error}') from None
    if not has_ground(model):
        _warn_once(path, f'{path}: no ground plane (no plane or height field on the world '
                   'body): the robot has nothing to stand on. A robot file often has none while '
                   "its scene file has (Menagerie's scene*.xml)", NoGroundWarning)
    return model


def _mesh_path(spec, mesh):
    """Return where MuJoCo looks for a mesh's file: the model folder, then meshdir."""
    file = Path(mesh.file)
    if file.is_absolute():
        return [file, Path(spec.modelfiledir) / spec.meshdir / file.name]
    return [Path(spec.modelfiledir) / spec.meshdir / file]


def _drop_missing_meshes(spec, path):
    missing = {mesh.name for mesh in spec.meshes
               if mesh.file and not any(os.path.isfile(p) for p in _mesh_path(spec, mesh))}
    if not missing:
        return
    dropped = []
    for geom in list(spec.geoms):
        if geom.type == mujoco.mjtGeom.mjGEOM_MESH and geom.meshname in missing:
            dropped.append(geom.name or geom.meshname)
            spec.delete(geom)
    for mesh in [m for m in spec.meshes if m.name in missing]:
        spec.delete(mesh)
    _warn_once(path, f'{path}: {len(missing)} mesh files are absent; dropped the {len(dropped)} '
               f'geoms that use them (the physics runs on the remaining geoms): '
               f'{", ".join(dropped)}', MissingMeshWarning)


def has_ground(model):
    """Return True when a plane or height field is attached to the world body."""
    ground = (int(mujoco.mjtGeom.mjGEOM_PLANE), int(mujoco.mjtGeom.mjGEOM_HFIELD))
    return any(model.geom_bodyid[g] == 0 and int(model.geom_type[g]) in ground
               for g in range(model.ngeom))


def names(model, kind):
    """Return the names of every object of a kind ('body', 'joint', 'site', 'sensor', 'key')."""
    count = {'body': model.nbody, 'joint': model.njnt, 'site': model.nsite,
             'sensor': model.nsensor, 'key': model.nkey}[kind]
    return [getattr(model, kind)(i).name for i in range(count)]


def free_bodies(model):
    """Return the bodies that carry a free joint (the candidates for a floating base)."""
    free = int(mujoco.mjtJoint.mjJNT_FREE)
    return [model.body(model.jnt_bodyid[j]).name for j in range(model.njnt)
            if int(model.jnt_type[j]) == free]


def commandable_joints(model):
    """Return the hinge and slide joints (the candidates for the commanded joints)."""
    return [model.joint(j).name for j in range(model.njnt)
            if int(model.jnt_type[j]) in _COMMANDABLE]


def check_names(model, config, fail):
    """
    Check every name ``config`` (a SimConfig) gives against ``model``, joints first.

    ``fail(message)`` raises; each message names the field and the model's candidates.
    """
    def exists(kind, name):
        return mujoco.mj_name2id(model, getattr(mujoco.mjtObj, f'mjOBJ_{kind.upper()}'),
                                 name) >= 0

    candidates = commandable_joints(model)
    unknown = [j for j in config.joint_names if j not in candidates]
    if unknown:
        fail(f"field 'joints': unknown joint {_quoted(unknown)} in model {config.model_path}; "
             f'its joints are {candidates}')
    if config.base_body not in free_bodies(model):
        fail(f"field 'base_body': base_body '{config.base_body}' must be a body with a free "
             f'joint in model {config.model_path}; its bodies with a free joint are '
             f'{free_bodies(model)}')
    if not exists('key', config.keyframe):
        fail(f"field 'keyframe': keyframe '{config.keyframe}' is not in model "
             f"{config.model_path}; its keyframes are {names(model, 'key')}")
    sites = names(model, 'site')
    for field_name, given in (('imu_site', [config.imu_site] if config.imu_site else []),
                              ('foot_sites', list(config.foot_sites)),
                              ('gripper_site', [config.gripper_site] if config.gripper_site
                               else [])):
        unknown = [s for s in given if s not in sites]
        if unknown:
            fail(f"field '{field_name}': no site {_quoted(unknown)} in model "
                 f"{config.model_path}; its sites are {sites} (add one with 'sites:')")
    if config.imu_sensors is not None:
        _check_imu_sensors(model, config, fail)


def _check_imu_sensors(model, config, fail):
    imu_site = mujoco.mj_name2id(model, mujoco.mjtObj.mjOBJ_SITE, config.imu_site) \
        if config.imu_site else -1
    for key, sensor_type in IMU_SENSOR_TYPES.items():
        name = getattr(config.imu_sensors, key)
        of_type = [model.sensor(s).name for s in range(model.nsensor)
                   if int(model.sensor_type[s]) == int(sensor_type)]
        kind = sensor_type.name[7:].lower()
        sensor = mujoco.mj_name2id(model, mujoco.mjtObj.mjOBJ_SENSOR, name)
        if sensor < 0 or int(model.sensor_type[sensor]) != int(sensor_type):
            fail(f"field 'imu_sensors.{key}': the IMU needs a '{kind}' sensor named '{name}' "
                 f"on site '{config.imu_site}' in model {config.model_path}; its {kind} sensors "
                 f'are {of_type}. Without IMU sensors, set imu_sensors: null and the readings '
                 "come from the frame of 'imu_site' (or of 'base_body' when imu_site is empty)")
        on_site = (int(model.sensor_objtype[sensor]) == int(mujoco.mjtObj.mjOBJ_SITE)
                   and model.sensor_objid[sensor] == imu_site)
        if not on_site:
            fail(f"field 'imu_sensors.{key}': sensor '{name}' is not on the imu_site "
                 f"'{config.imu_site}' in model {config.model_path}")


def _quoted(values):
    return ', '.join(f"'{v}'" for v in values)


def frame_imu(model, data, site_id, body_id):
    """
    IMU readings from a frame, in the conventions of MuJoCo's IMU sensors.

    Returns (orientation [w, x, y, z] in the world, angular velocity in the frame, specific
    force in the frame), as framequat, gyro and accelerometer sensors on that frame would.
    Needs the accelerations of a completed mj_forward; runs mj_rnePostConstraint for cacc.
    """
    kind, index = ((mujoco.mjtObj.mjOBJ_SITE, site_id) if site_id >= 0
                   else (mujoco.mjtObj.mjOBJ_BODY, body_id))
    orientation = np.empty(4)
    frame = data.site_xmat[index] if site_id >= 0 else data.xmat[index]
    mujoco.mju_mat2Quat(orientation, frame)
    velocity = np.empty(6)
    mujoco.mj_objectVelocity(model, data, kind, index, velocity, 1)
    mujoco.mj_rnePostConstraint(model, data)
    acceleration = np.empty(6)
    mujoco.mj_objectAcceleration(model, data, kind, index, acceleration, 1)
    return orientation, velocity[:3].copy(), acceleration[3:].copy()
