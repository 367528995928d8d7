"""Where the code's own files live (SQL, shipped models, sandbox data). Data paths come from config.Paths."""

from pathlib import Path

PACKAGE_DIR = Path(__file__).resolve().parent
REPO_ROOT = PACKAGE_DIR.parent
SQL_DIR = REPO_ROOT / "sql"
MODELS_DIR = REPO_ROOT / "models"
SANDBOX_DATA = PACKAGE_DIR / "sandbox" / "data"
