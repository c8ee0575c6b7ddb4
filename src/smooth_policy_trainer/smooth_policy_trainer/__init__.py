"""Trains smooth motion-imitation policies (LPN with the action Jacobian penalty and baselines) in MuJoCo and exports them for lpn_controller."""
