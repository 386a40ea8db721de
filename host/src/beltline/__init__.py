"""Beltline: pelvic posture from a belt-worn IMU.

The firmware modules are importable as ``beltline.firmware`` (one definition of the filter and
the wire format for the belt unit and the host).
"""

__version__ = "0.1.0"
