"""Training configurations: the YAML reader, the schemas and their checks (no torch, no MuJoCo)."""
