"""
The names a config may choose from, kept here so that reading a config needs no torch or MuJoCo.

The modules that implement the choices import these tuples (one source); activation and physics
names are checked against their implementations by the tests.
"""

POLICY_KINDS = ('lpn', 'mlp')
ACTIVATIONS = ('elu', 'relu', 'silu', 'tanh')        # networks.policies.ACTIVATIONS
INITS = ('orthogonal', 'default')
JACOBIAN_METHODS = ('exact', 'estimator', 'closed_form')
ACTOR_OUTPUTS = ('tanh', 'linear')
ALGORITHMS = ('td3', 'sac')
OFFPOLICY_TASKS = ('gym', 'imitation')
PHYSICS = ('fast', 'full')                           # sim_bridge.physics.PHYSICS_CONFIGS
DEFAULT_POSES = ('clip_mean', 'keyframe')
PRIVILEGED_INPUTS = ('root_position_error',)           # envs.privileged_inputs.SIZES
