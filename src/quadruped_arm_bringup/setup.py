from glob import glob
import os

from setuptools import find_packages, setup

package_name = 'quadruped_arm_bringup'


def share_tree(folder):
    """Install every file under `folder` to share/<package>/<folder>, keeping sub-folders."""
    entries = []
    for path in sorted(glob(os.path.join(folder, '**', '*'), recursive=True)):
        if os.path.isfile(path) and '__pycache__' not in path:
            target = os.path.join('share', package_name, os.path.dirname(path))
            entries.append((target, [path]))
    return entries


setup(
    name=package_name,
    version='0.1.0',
    packages=find_packages(exclude=['test']),
    include_package_data=True,
    data_files=[
        ('share/ament_index/resource_index/packages', ['resource/' + package_name]),
        ('share/' + package_name, ['package.xml']),
        *share_tree('config'),
        *share_tree('launch'),
        *share_tree('policies'),
    ],
    install_requires=['setuptools'],
    zip_safe=False,
    maintainer='Smooth policies maintainers',
    maintainer_email='maintainers@smooth-policies.dev',
    description=(
        'Launch files and configuration that bring up the simulated or real quadruped '
        'with an arm under the smooth-policy controller.'
    ),
    license='Apache-2.0',
    extras_require={'test': ['pytest']},
    entry_points={
        'console_scripts': [
            'spot_driver_config = quadruped_arm_bringup.spot_driver_config:main',
            'spot_emulator = quadruped_arm_bringup.spot_emulator_node:main',
        ],
    },
)
