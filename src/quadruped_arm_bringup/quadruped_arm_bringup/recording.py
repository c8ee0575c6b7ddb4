"""
What a launch records with ``record:=true``, and the ``ros2 bag record`` command that does it.

The topics are those the bag analysis (``lpn_controller.analyze``) and a replay need: the
controller's stamped raw action, the robot state it acted on, the targets it sent, its
diagnostics, and in simulation the clock and the ground-truth odometry.
"""

CONTROLLER_NODE = 'lpn_controller'
CONTROLLER_ACTION_TOPIC = f'/{CONTROLLER_NODE}/action'

SIM_TOPICS = ('/clock', '/joint_states', '/imu', '/odom', '/joint_commands',
              CONTROLLER_ACTION_TOPIC, '/diagnostics')


def controller_topic(name):
    """Return the absolute name of a topic the controller node (root namespace) resolves."""
    if name.startswith('~/'):
        return f'/{CONTROLLER_NODE}/{name[2:]}'
    return name if name.startswith('/') else f'/{name}'


def robot_topics(profile_topics):
    """Return what to record on a real robot: its profile's topics and the controller's."""
    return tuple(controller_topic(topic) for topic in profile_topics) + (
        CONTROLLER_ACTION_TOPIC, '/diagnostics')


def bag_record_command(topics, bag='', storage='mcap'):
    """
    Return the ``ros2 bag record`` command line that records ``topics`` into ``bag``.

    An empty ``bag`` lets rosbag2 name a timestamped folder in the current directory. Receive
    times stay wall-clock (rosbag2's default) in simulation too, so a bag's start and end are
    dates; the analysis reads the header stamps, which are simulated time there.

    The topics go last and positionally: that form works on every rosbag2 this stack runs on,
    Humble's 0.15.x included, whose ``record`` has no ``--topics`` option (Jazzy's before
    0.26.4 neither); from 0.26.4 on rosbag2 still records them, with a deprecation warning.
    ``--storage mcap`` needs rosbag2's MCAP plugin, which Humble installs separately
    (``ros-humble-rosbag2-storage-mcap``).
    """
    topics = [topic for topic in dict.fromkeys(topics) if topic]
    if not topics:
        raise ValueError('nothing to record: the topic list is empty')
    command = ['ros2', 'bag', 'record', '--storage', storage]
    if bag:
        command += ['--output', str(bag)]
    return command + topics
