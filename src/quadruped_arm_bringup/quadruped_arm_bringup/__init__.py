"""Launch files and configuration that bring up the quadruped with an arm."""
