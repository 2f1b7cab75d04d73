"""Readers and writers for user tables (CSV, JSONL, Parquet). Used by the CLI and studies."""

from overopt.io.tables import read_table, require_columns, require_finite

__all__ = ["read_table", "require_columns", "require_finite"]
