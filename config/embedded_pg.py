"""The zero-configuration database: an embedded Postgres (pgserver) under var/.

Used only when DATABASE_URL is not set. Every process that imports the settings
holds a handle; pgserver stops the server when the last handle's process exits.
"""

import os
import warnings
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent
DATA_DIR = Path(os.environ.get("CONCORD_PGDATA", BASE_DIR / "var" / "pgdata"))
DATABASE_NAME = "concord"


def embedded_database_url() -> str:
    warnings.filterwarnings("ignore", message=".*XDG_RUNTIME_DIR.*")
    os.environ.setdefault("XDG_RUNTIME_DIR", str(DATA_DIR.parent / "run"))
    Path(os.environ["XDG_RUNTIME_DIR"]).mkdir(parents=True, exist_ok=True)
    import pgserver

    DATA_DIR.parent.mkdir(parents=True, exist_ok=True)
    server = pgserver.get_server(DATA_DIR, cleanup_mode="stop")
    _ensure_database(server)
    return server.get_uri(DATABASE_NAME)


def _ensure_database(server) -> None:
    exists = server.psql(f"SELECT 1 FROM pg_database WHERE datname = '{DATABASE_NAME}';")
    if "(1 row)" not in exists:
        server.psql(f"CREATE DATABASE {DATABASE_NAME};")


def stop_embedded() -> None:
    """Stop the embedded server now (`make run` on Ctrl-C), whoever still holds a handle:
    a worker killed mid-task never gives its handle back."""
    from pgserver._commands import pg_ctl

    if not (DATA_DIR / "postmaster.pid").exists():
        return
    try:
        pg_ctl(["-w", "stop", "-m", "fast"], pgdata=DATA_DIR, user="pgserver" if os.geteuid() == 0 else None)
    except Exception as error:  # already stopped, or stopping: nothing left to do
        warnings.warn(f"embedded Postgres: {error}", stacklevel=2)
    (DATA_DIR / ".handle_pids.json").unlink(missing_ok=True)
