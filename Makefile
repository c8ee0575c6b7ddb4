# Two entry points for a fresh machine: `make demo` and `make test`.
# Both bootstrap .venv from the pinned requirements and install the four packages into it.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
PACKAGES := src/sim_bridge src/lpn_controller src/smooth_policy_trainer src/quadruped_arm_bringup
STAMP := $(VENV)/.bootstrapped

# The Humble leg: the robot path's pure-Python tests (controller, profile, launch and rclpy API
# checks) under ROS 2 Humble's Python, Ubuntu 22.04's 3.10 with numpy 1.21.5, scipy 1.8.0 and
# PyYAML 5.4.1, in a second venv without torch or MuJoCo. CPython 3.10 from pyenv, else
# python3.10 on the PATH; without one the leg says so and is skipped.
HUMBLE_PYTHON ?= $(firstword $(wildcard $(HOME)/.pyenv/versions/3.10*/bin/python3) \
                             $(shell command -v python3.10 2>/dev/null))
HUMBLE_VENV ?= .venv-humble
HUMBLE_PY := $(HUMBLE_VENV)/bin/python
HUMBLE_STAMP := $(HUMBLE_VENV)/.bootstrapped
HUMBLE_TESTS := src/lpn_controller/test $(addprefix src/quadruped_arm_bringup/test/test_,\
	robot_profile.py launch_api_jazzy.py rclpy_api_humble.py recording.py config_files.py \
	policy_selection.py python_syntax.py spot_driver_config.py)
# The offline bag analysis (rosbags) is not the robot path.
HUMBLE_SKIP := --ignore=src/lpn_controller/test/test_analyze.py \
	--ignore=src/lpn_controller/test/test_bags.py \
	--ignore=src/lpn_controller/test/test_bag_recovery.py \
	--deselect=src/lpn_controller/test/test_architecture.py::test_library_imports_without_ros

.PHONY: demo test test-humble lint bench venv clean

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
	$(MAKE) --no-print-directory test-humble

$(HUMBLE_STAMP): requirements-humble.txt $(addsuffix /setup.py,$(PACKAGES))
	$(HUMBLE_PYTHON) -m venv $(HUMBLE_VENV)
	touch $(HUMBLE_VENV)/COLCON_IGNORE
	$(HUMBLE_PY) -m pip install --quiet -r requirements-humble.txt
	# No 3.10 wheel of PyYAML 5.4.1: built from source as Ubuntu's, with the Cython < 3 above.
	$(HUMBLE_PY) -m pip install --quiet --no-build-isolation PyYAML==5.4.1
	$(HUMBLE_PY) -m pip install --quiet --no-deps -e src/lpn_controller -e src/sim_bridge \
		-e src/quadruped_arm_bringup
	touch $(HUMBLE_STAMP)

ifeq ($(HUMBLE_PYTHON),)
test-humble:
	@echo 'test-humble: skipped, no CPython 3.10 (pyenv install 3.10, or HUMBLE_PYTHON=...)'
else
test-humble: $(HUMBLE_STAMP)
	$(HUMBLE_PY) -m pytest -q -p no:cacheprovider $(HUMBLE_SKIP) $(HUMBLE_TESTS)
endif

# The style colcon test enforces on a ROS build farm (ament_flake8 settings in .flake8).
lint: $(STAMP)
	$(PY) -m flake8 src bench

demo: $(STAMP)
	$(PY) -m quadruped_arm_bringup.demo

bench: $(STAMP)
	$(PY) bench/sim_throughput.py

clean:
	rm -rf $(VENV) $(HUMBLE_VENV) build install log
