"""Command lines: train, train_offpolicy, evaluate, export (thin; the logic is in the library)."""
