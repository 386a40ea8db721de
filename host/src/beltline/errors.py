"""One exception tree for everything Beltline reports as bad input (modelled on bleak's)."""

from __future__ import annotations


class BeltlineError(Exception):
    """Base class: every error Beltline raises on purpose."""


class WireError(BeltlineError):
    """A notification that cannot be decoded. ``reason`` names the check that failed."""

    def __init__(self, reason: str, message: str, length: int | None = None) -> None:
        super().__init__(message)
        self.reason = reason
        self.length = length


class MalformedPacket(WireError):
    """Wrong length, unknown kind or stride: the bytes do not form a packet."""


class ChecksumError(WireError):
    """The CRC does not match: the packet was corrupted."""


class VersionMismatch(WireError):
    """The packet's format version is not the one this host understands."""

    def __init__(self, got: int, expected: int) -> None:
        super().__init__(
            "version",
            f"wire format version {got} is not supported (this host speaks version {expected}); "
            "update the host app or the belt unit's firmware so they match",
        )
        self.got = got
        self.expected = expected


class DataError(BeltlineError):
    """A recording or data set that cannot be used as it is (missing file, columns, units)."""


class StoreError(BeltlineError):
    """The session store cannot be opened, read or written. ``reason``: "full" (the disk or the
    store's size limit), "readonly", "busy" (another program holds it), "damaged" (not a
    Beltline store, or a corrupt file), "other"."""

    def __init__(self, message: str, reason: str = "other") -> None:
        super().__init__(message)
        self.reason = reason


class UsageError(BeltlineError):
    """The command line itself cannot work (a bad value, an output folder that is missing, a
    network address without --allow-network): exit status 2, said before any work starts."""
