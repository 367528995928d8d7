"""Where the code's own files live: SQL, shipped models, the DAG, Airflow's config and the sandbox's recorded data.
Data paths (warehouse, landing zone, reports) come from config.Paths.

    >>> SQL_DIR / "schema"
    PosixPath('.../pipelines/sql/schema')        # installed from a wheel
    PosixPath('.../community-listening/sql/schema')   # in a source checkout

The repository keeps sql/, models/, dags/ and airflow.cfg at its top level (the layout of the design card); a wheel
carries them inside the package (setup.py copies them in), so `pip install .` needs no checkout. Each path is the
one inside the installed package when it is there, else the top-level one beside the package.
"""

from importlib.resources import files
from pathlib import Path

PACKAGE_DIR = Path(str(files("pipelines")))
IMPORT_ROOT = PACKAGE_DIR.parent  # what must be on sys.path for `import pipelines` (site-packages or the checkout)


def _shipped(name: str) -> Path:
    inside = PACKAGE_DIR / name
    return inside if inside.exists() else IMPORT_ROOT / name


SQL_DIR = _shipped("sql")
MODELS_DIR = _shipped("models")
DAGS_DIR = _shipped("dags")
AIRFLOW_CFG = _shipped("airflow.cfg")
SANDBOX_DATA = PACKAGE_DIR / "sandbox" / "data"
