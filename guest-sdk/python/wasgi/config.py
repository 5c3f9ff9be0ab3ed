"""wasgi.config: configuration values the host gives the app
(`wasi:config/store`): a manifest's `config = { ... }`, or
`host serve --config-var KEY=VALUE`.

    import wasgi.config
    api = wasgi.config.get("api_base", "https://api.example")
"""

from componentize_py_types import Err
from wit_world.imports import wasi_config_store as _config


def get(key, default=None):
    """The value of `key`, or `default`."""
    try:
        value = _config.get(key)
    except Err as e:
        raise OSError(f"wasi:config: {e.value}") from None
    return default if value is None else value


def get_all():
    """Every value, as a dict."""
    try:
        return dict(_config.get_all())
    except Err as e:
        raise OSError(f"wasi:config: {e.value}") from None
