"""The data keys a traininglog process has read, held in memory until any process deletes a key.

Every append and every relay batch needs its users' keys, which live in a database of their own
(key_store.py): read there each time, they cost a round trip to it per transaction. A process
keeps the keys it read only while it listens, on PostgreSQL, to the channel on which every key
deletion notifies (from the deleting transaction, so delivered once it commits). Any deletion
makes every listening process forget every key it holds: an erasure leaves its user's key in no
process's memory once its notification is in, and erasures are rare enough that reading the
keys again costs nothing worth counting.

A process that is not listening (starting up, its listening connection lost, or on SQLite, where
traininglog runs as one process) holds no key at all: it could miss a deletion. A look-up that
began before a deletion does not keep what it read after it (the generation it began in is gone).
"""

import threading
from collections.abc import Iterable, Mapping

import psycopg
import structlog

log = structlog.get_logger(__name__)

KEYS_DELETED_CHANNEL = "traininglog_data_keys_deleted"
# How often the listening connection is checked for life between notifications.
CHECK_EVERY_S = 1.0


class KeyCache:
    def __init__(self, listen_dsn: str | None = None) -> None:
        """`listen_dsn`: the key database, where `run` listens for deletions (psycopg's form)."""
        self._listen_dsn = listen_dsn
        self._keys: dict[str, bytes] = {}
        self._generation = 0
        self._listening = False
        self._lock = threading.Lock()
        self._stopping = threading.Event()

    def known(self, key_ids: Iterable[str]) -> tuple[dict[str, bytes], int]:
        """The keys of these ids held here, and the generation to `keep` what is read next in."""
        with self._lock:
            held = {key_id: self._keys[key_id] for key_id in key_ids if key_id in self._keys}
            return held, self._generation

    def keep(self, keys: Mapping[str, bytes], generation: int) -> None:
        """Hold these keys, read from the key store in `generation`: unless a deletion came in
        since, or no deletion can be heard."""
        with self._lock:
            if self._listening and generation == self._generation:
                self._keys.update(keys)

    def forget_all(self) -> None:
        with self._lock:
            self._keys.clear()
            self._generation += 1

    @property
    def listening(self) -> bool:
        return self._listening

    def set_listening(self, listening: bool) -> None:
        """Whether deletions are heard from now on; either way, what was held is forgotten."""
        with self._lock:
            self._listening = listening
            self._keys.clear()
            self._generation += 1

    def run(self) -> None:
        """Listen for key deletions until stop(); without a listening connection, hold nothing."""
        if self._listen_dsn is None:
            return
        backoff = 0.2
        while not self._stopping.is_set():
            try:
                with psycopg.connect(self._listen_dsn, autocommit=True) as connection:
                    connection.execute(f"LISTEN {KEYS_DELETED_CHANNEL}")
                    self.set_listening(True)
                    backoff = 0.2
                    while not self._stopping.is_set():
                        for _notify in connection.notifies(timeout=CHECK_EVERY_S):
                            self.forget_all()
                        # A dead connection hears nothing; what arrives meanwhile waits for
                        # notifies() (psycopg keeps it).
                        connection.execute("SELECT 1")
            except psycopg.Error as err:
                log.warning("key_cache.not_listening", error=str(err)[:300], retry_in_s=backoff)
            finally:
                self.set_listening(False)
            self._stopping.wait(backoff)
            backoff = min(backoff * 2, 5.0)

    def stop(self) -> None:
        self._stopping.set()
