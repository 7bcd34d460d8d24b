"""The benchmark database: a throwaway PostgreSQL database, recreated on every run."""

from __future__ import annotations

import os
from typing import Any

import environ
import psycopg
from psycopg import sql

DEFAULT_URL = "postgres://postgres@127.0.0.1:5432/irp_bench"


def database_url() -> str:
    return os.environ.get("BENCH_DATABASE_URL", DEFAULT_URL)


def connect(url: str, *, dbname: str | None = None) -> psycopg.Connection[Any]:
    """Connect to the database `url` names, or to `dbname` on the same server."""
    config = environ.Env.db_url_config(url)
    if config["ENGINE"] != "django.db.backends.postgresql":
        raise ValueError(f"benchmarks need PostgreSQL, not {config['ENGINE']} ({url})")
    return psycopg.connect(
        dbname=dbname or config["NAME"],
        user=config["USER"] or None,
        password=config["PASSWORD"] or None,
        host=config["HOST"] or None,
        port=config["PORT"] or None,
        autocommit=True,
        connect_timeout=5,
    )


def recreate_database(url: str) -> None:
    """Drop and create the database `url` names; the bench database never holds anything worth keeping."""
    drop_database(url)
    with _maintenance_connection(url) as connection:
        connection.execute(sql.SQL("CREATE DATABASE {}").format(_name(url)))


def drop_database(url: str) -> None:
    with _maintenance_connection(url) as connection:
        connection.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(_name(url)))


def _maintenance_connection(url: str) -> psycopg.Connection[Any]:
    # CREATE and DROP DATABASE cannot run inside the database itself.
    return connect(url, dbname="postgres")


def _name(url: str) -> sql.Identifier:
    return sql.Identifier(environ.Env.db_url_config(url)["NAME"])
