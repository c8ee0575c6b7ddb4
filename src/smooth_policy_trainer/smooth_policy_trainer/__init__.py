"""Training of smooth motion-imitation policies: LPN, penalties, baselines, export."""
