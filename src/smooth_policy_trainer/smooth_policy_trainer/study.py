"""Keeps ``python -m smooth_policy_trainer.study`` working: the command is cli/study.py."""

import sys

from smooth_policy_trainer.cli.study import main

__all__ = ['main']

if __name__ == '__main__':
    sys.exit(main())
