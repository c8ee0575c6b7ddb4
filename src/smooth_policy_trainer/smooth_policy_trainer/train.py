"""Keeps ``python -m smooth_policy_trainer.train`` working: the command is cli/train.py."""

import sys

from smooth_policy_trainer.cli.train import main

__all__ = ['main']

if __name__ == '__main__':
    sys.exit(main())
