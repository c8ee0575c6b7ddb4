"""MuJoCo simulator core for the quadruped with an arm, and the ROS 2 node that publishes its state and takes joint commands."""
