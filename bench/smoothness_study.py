"""
The smoothness study, now a command of the trainer: ``python -m smooth_policy_trainer.study``.

    python bench/smoothness_study.py [the same arguments]

This script only calls it (see smooth_policy_trainer/study.py for the arguments): every method x
task x seed trained to its clip's world targets or to a cap, on an embedded or joined Ray
cluster or as local subprocesses, one record per run, and the report rebuilt from the records.
"""

import sys

from smooth_policy_trainer.study import main

if __name__ == '__main__':
    sys.exit(main())
