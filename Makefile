# Two entry points for a fresh machine: `make demo` and `make test`.
# Both bootstrap .venv from the pinned requirements and install the four packages into it.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
PACKAGES := src/sim_bridge src/lpn_controller src/smooth_policy_trainer src/quadruped_arm_bringup
STAMP := $(VENV)/.bootstrapped

.PHONY: demo test lint bench venv clean

venv: $(STAMP)

$(STAMP): requirements.txt $(addsuffix /setup.py,$(PACKAGES))
	$(PYTHON) -m venv $(VENV)
	touch $(VENV)/COLCON_IGNORE   # colcon build in this checkout must not scan the venv
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements.txt
	$(PY) -m pip install --quiet --no-deps $(addprefix -e ,$(PACKAGES))
	touch $(STAMP)

test: lint
	$(PY) -m pytest

# The style colcon test enforces on a ROS build farm (ament_flake8 settings in .flake8).
lint: $(STAMP)
	$(PY) -m flake8 src bench

demo: $(STAMP)
	$(PY) -m quadruped_arm_bringup.demo

bench: $(STAMP)
	$(PY) bench/sim_throughput.py

clean:
	rm -rf $(VENV) build install log
