"""Decoding a FIT file with Garmin's own FIT SDK (garmin-fit-sdk)."""

from collections.abc import Mapping, Sequence
from typing import Any, cast

from garmin_fit_sdk import Decoder, Stream


class UnreadableFitFile(ValueError):
    """Not a FIT file, or a damaged or truncated one: the reason, for a 4xx."""


def decode_fit(data: bytes) -> Mapping[str, Sequence[Mapping[str, Any]]]:
    """The file's messages by kind (`session_mesgs`, `set_mesgs`, ...), as the SDK names them."""
    if not data:
        raise UnreadableFitFile("The body is empty: send the FIT file's bytes.")
    try:
        if not _decoder(data).is_fit():
            raise UnreadableFitFile("Not a FIT file (no FIT header).")
        if not _decoder(data).check_integrity():
            raise UnreadableFitFile(
                "The FIT file is damaged or cut short (its size or CRC is wrong)."
            )
        messages, errors = _decoder(data).read()
    except UnreadableFitFile:
        raise
    except Exception as err:  # the SDK raises whatever its reader met on bytes it cannot read
        raise UnreadableFitFile(f"The FIT file could not be decoded: {err}") from err
    if errors:
        raise UnreadableFitFile(f"The FIT file could not be decoded: {errors[0]}")
    return cast(Mapping[str, Sequence[Mapping[str, Any]]], messages)


def _decoder(data: bytes) -> Decoder:
    return Decoder(Stream.from_byte_array(bytearray(data)))
