"""Launch files and configuration that bring up the simulated or real quadruped with an arm under the smooth-policy controller."""
