"""Keeps ``python -m smooth_policy_trainer.evaluate`` working: the command is cli/evaluate.py."""

import sys

from smooth_policy_trainer.cli.evaluate import main

__all__ = ['main']

if __name__ == '__main__':
    sys.exit(main())
