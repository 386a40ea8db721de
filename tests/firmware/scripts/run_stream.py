# The device's sample loop over a deterministic motion; prints every packet as hex.
import motion

import stream


def main():
    s = stream.Stream(100.0, 64)
    for x in motion.tumble(20, 100.0, bias=(0.01, 0.0, 0.0)):
        p = s.sample(x[0], x[1], x[2], x[3], x[4], x[5], x[6])
        if p is not None:
            print("".join("%02x" % b for b in p))


main()
