"""Reading a service's settings from the environment.

Each setting is looked up as `<SERVICE>_<NAME>` first; the settings every service shares
(DATABASE_URL, AMQP_URL, LOG_LEVEL, BROKER_NAMESPACE, BACKTRACK_DATA_DIR, CLIENTS_FILE) also fall back
to the bare name, so one environment can run both services.
"""

from collections.abc import Mapping
from pathlib import Path

DEFAULT_AMQP_URL = "amqp://guest:guest@127.0.0.1:5672/%2F"


class SettingsError(ValueError):
    pass


class Environment:
    def __init__(self, environ: Mapping[str, str], service: str) -> None:
        self._environ = environ
        self._prefix = service.upper()

    def _raw(self, name: str, *, shared: bool) -> tuple[str, str | None]:
        prefixed = f"{self._prefix}_{name}"
        if prefixed in self._environ:
            return prefixed, self._environ[prefixed]
        if shared and name in self._environ:
            return name, self._environ[name]
        return prefixed, None

    def text(self, name: str, default: str, *, shared: bool = False) -> str:
        _, value = self._raw(name, shared=shared)
        return default if value is None or value == "" else value

    def integer(self, name: str, default: int, *, minimum: int = 0) -> int:
        key, value = self._raw(name, shared=False)
        if value is None or value == "":
            return default
        try:
            number = int(value)
        except ValueError:
            raise SettingsError(f"{key} must be a whole number, got {value!r}") from None
        if number < minimum:
            raise SettingsError(f"{key} must be at least {minimum}, got {number}")
        return number

    def number(self, name: str, default: float) -> float:
        key, value = self._raw(name, shared=False)
        if value is None or value == "":
            return default
        try:
            return float(value)
        except ValueError:
            raise SettingsError(f"{key} must be a number, got {value!r}") from None

    def sqlite_default(self, filename: str) -> str:
        return f"sqlite:///{self.data_path(filename)}"

    def data_path(self, filename: str) -> Path:
        return Path(self.text("BACKTRACK_DATA_DIR", "data", shared=True)) / filename

    def clients_file(self) -> Path:
        """The clients file both services read their API keys from (CLIENTS_FILE)."""
        return Path(self.text("CLIENTS_FILE", str(self.data_path("clients.json")), shared=True))
