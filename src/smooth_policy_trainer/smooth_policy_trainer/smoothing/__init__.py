"""Smoothness terms: the action Jacobian penalty, CAPS, GP-LCP, PAVE and critic diagnostics."""
