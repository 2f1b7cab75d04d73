__version__ = "0.1.0"
SCHEMA_VERSION = 1

_PACKAGES = ("overopt", "torch", "transformers", "trl", "numpy")


def package_versions() -> dict[str, str | None]:
    """Versions of overopt, Python and the packages a study's numbers depend on (None = not installed).

    Read from installed package metadata (``importlib.metadata``), so nothing heavy is imported:
    a summary records which torch / transformers / trl produced it without importing torch.
    """
    import platform
    from importlib import metadata

    out: dict[str, str | None] = {}
    for name in _PACKAGES:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[name] = None
    return {"overopt": out.pop("overopt"), "python": platform.python_version(), **out}
