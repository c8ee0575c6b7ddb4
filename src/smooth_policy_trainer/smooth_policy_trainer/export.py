"""Keeps ``python -m smooth_policy_trainer.export`` working: the command is cli/export.py."""

import sys

from smooth_policy_trainer.cli.export import main

__all__ = ['main']

if __name__ == '__main__':
    sys.exit(main())
