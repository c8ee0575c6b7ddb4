from glob import glob
import os

from setuptools import find_packages, setup

package_name = 'lpn_controller'


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
    ],
    install_requires=['setuptools'],
    zip_safe=False,
    maintainer='Smooth policies maintainers',
    maintainer_email='maintainers@smooth-policies.dev',
    description=(
        'Numpy-only runtime for smooth RL policies (LPN and MLP), observation builder, '
        'action-smoothness metrics and monitor, bag analysis, and the controller node.'
    ),
    license='Apache-2.0',
    extras_require={'test': ['pytest']},
    entry_points={
        'console_scripts': [
            'node = lpn_controller.node:main',
            'inspect_policy = lpn_controller.inspect_policy:main',
            'analyze = lpn_controller.analyze:main',
        ],
    },
)
