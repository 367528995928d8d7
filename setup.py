"""What pyproject.toml cannot say: the wheel carries the repository's top-level sql/, models/, dags/ and airflow.cfg
inside the package (pipelines/sql, ...), so a plain `pip install .` (as Airflow images and pipx install) has its
migrations, views, shipped models and DAG. pipelines/paths.py finds them there, or beside the package in a
checkout. Everything else about the package is in pyproject.toml.
"""

import shutil
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

SHIPPED = ("sql", "models", "dags", "airflow.cfg")  # keep in step with pipelines/paths.py and MANIFEST.in


class BuildPyWithShippedFiles(build_py):
    def run(self):
        super().run()
        for name in SHIPPED:
            target = Path(self.build_lib) / "pipelines" / name
            if Path(name).is_dir():
                shutil.copytree(name, target, dirs_exist_ok=True,
                                ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
            else:
                shutil.copy2(name, target)


setup(cmdclass={"build_py": BuildPyWithShippedFiles})
