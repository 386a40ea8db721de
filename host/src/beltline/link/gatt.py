"""The belt unit's GATT identifiers on the host side. The unit defines them in
``firmware/gatt.py`` (MicroPython, not importable here); a test keeps the two equal."""

SERVICE_UUID = "7a1e0000-5b1d-4e6a-9c47-8d2b3f6c0b1a"
STREAM_UUID = "7a1e0001-5b1d-4e6a-9c47-8d2b3f6c0b1a"
CONTROL_UUID = "7a1e0002-5b1d-4e6a-9c47-8d2b3f6c0b1a"
STATUS_UUID = "7a1e0003-5b1d-4e6a-9c47-8d2b3f6c0b1a"
FIRMWARE_REV_UUID = "00002a26-0000-1000-8000-00805f9b34fb"
