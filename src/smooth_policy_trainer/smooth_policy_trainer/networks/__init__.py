"""Networks: actors, critics, the observation normaliser, distributions and the export to numpy."""
