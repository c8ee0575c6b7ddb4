"""Keeps ``python -m smooth_policy_trainer.train_offpolicy`` working (cli/train_offpolicy.py)."""

import sys

from smooth_policy_trainer.cli.train_offpolicy import main

__all__ = ['main']

if __name__ == '__main__':
    sys.exit(main())
