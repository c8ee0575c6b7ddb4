"""
MuJoCo simulator core and the ROS 2 node that runs it (sim_bridge).

The core (config, simulator, vector) is plain Python; only node.py imports rclpy.
"""
