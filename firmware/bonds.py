"""Bonding keys kept on flash: what the BLE stack hands over with ``_IRQ_SET_SECRET`` and asks
for with ``_IRQ_GET_SECRET`` (MicroPython's bluetooth docs, "Pairing and bonding").

The stack's secrets are opaque bytes, stored by (sec_type, key) as hex in a JSON file, written
atomically (new file, then rename). At most ``MAX`` secrets are kept; a new one beyond that
replaces the oldest, so a stream of pairings cannot fill the flash. An unreadable file counts
as no bonds (the hosts pair again) rather than stopping the unit.
"""

import json
import os

MAX = 16


def _hex(b):
    return "".join("%02x" % x for x in b)


def _unhex(s):
    return bytes(int(s[i:i + 2], 16) for i in range(0, len(s), 2))


class Bonds:
    def __init__(self, path):
        self.path = path
        self.items = []  # [sec_type, key hex, value hex], oldest first
        try:
            with open(path) as f:
                got = json.load(f)
            for it in got:
                if isinstance(it, list) and len(it) == 3 and isinstance(it[0], int):
                    _unhex(it[1])  # checks the text is hex
                    _unhex(it[2])
                    self.items.append([it[0], it[1], it[2]])
        except (OSError, ValueError, TypeError, IndexError, MemoryError):
            self.items = []

    def get(self, sec_type, index, key):
        """The value for (sec_type, key), or the index-th of that sec_type if key is None."""
        if key is None:
            n = 0
            for t, _k, v in self.items:
                if t == sec_type:
                    if n == index:
                        return _unhex(v)
                    n += 1
            return None
        kh = _hex(key)
        for t, k, v in self.items:
            if t == sec_type and k == kh:
                return _unhex(v)
        return None

    def set(self, sec_type, key, value):
        """Store (value None: delete). Returns True once it is on flash."""
        kh = _hex(key)
        self.items = [it for it in self.items if not (it[0] == sec_type and it[1] == kh)]
        if value is not None:
            self.items.append([sec_type, kh, _hex(value)])
            if len(self.items) > MAX:
                self.items.pop(0)
        try:
            tmp = self.path + ".new"
            with open(tmp, "w") as f:
                json.dump(self.items, f)
            os.rename(tmp, self.path)
        except OSError:
            return False
        return True

    def __len__(self):
        return len(self.items)
