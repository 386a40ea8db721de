# Encode a deterministic sample stream with the firmware's Batcher and print each packet as hex,
# one per line, prefixed by the MTU. Runs unchanged under MicroPython and CPython.
import sys

from motion import wire_sample as sample

import wire


def main():
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 100
    for mtu in (23, 27, 64, 185, 247, 517):
        b = wire.Batcher(mtu)
        for i in range(n):
            p = b.add_full(*sample(i))
            if p is not None:
                print(mtu, "".join("%02x" % x for x in p))
        p = b.flush()
        if p is not None:
            print(mtu, "".join("%02x" % x for x in p))


main()
