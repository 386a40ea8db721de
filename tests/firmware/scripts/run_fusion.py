# Run the firmware attitude filter over a deterministic motion and print every 50th up vector
# with the truth. The same file runs under MicroPython and CPython; the test compares them.
import sys

import motion

import fusion


def main():
    seconds = float(sys.argv[1]) if len(sys.argv) > 1 else 60.0
    att = fusion.Attitude(100.0)
    i = 0
    for s in motion.tumble(seconds, 100.0, bias=(0.01, -0.005, 0.008), jitter=0.2):
        att.update(s[0], s[1], s[2], s[3], s[4], s[5], s[6])
        if i % 50 == 0:
            u = att.up()
            print("%.12f %.12f %.12f %.12f %.12f %.12f" % (u[0], u[1], u[2], s[7], s[8], s[9]))
        i += 1
    b = att.bias
    print("bias %.12f %.12f %.12f" % (b[0], b[1], b[2]))


main()
