from glob import glob
import os

from setuptools import find_packages, setup

package_name = 'smooth_policy_trainer'


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
    package_data={package_name: ['data/clips/*.yaml', 'data/clips/*.npz']},
    data_files=[
        ('share/ament_index/resource_index/packages', ['resource/' + package_name]),
        ('share/' + package_name, ['package.xml']),
        *share_tree('config'),
    ],
    install_requires=['setuptools'],
    zip_safe=False,
    maintainer='Smooth policies maintainers',
    maintainer_email='maintainers@smooth-policies.dev',
    description=(
        'Trains smooth motion-imitation policies (LPN with the action Jacobian penalty '
        'and baselines) in MuJoCo and exports them for lpn_controller.'
    ),
    license='Apache-2.0',
    extras_require={'test': ['pytest']},
    entry_points={
        'console_scripts': [
            'train = smooth_policy_trainer.cli.train:main',
            'export = smooth_policy_trainer.cli.export:main',
            'evaluate = smooth_policy_trainer.cli.evaluate:main',
            'train_offpolicy = smooth_policy_trainer.cli.train_offpolicy:main',
            'study = smooth_policy_trainer.cli.study:main',
        ],
    },
)
