# The logbook encoder's CPU cost under MicroPython: the viper encoder against the same code in
# bytecode (the reference) and the CRC of the same records, in one run; key=value lines.
import struct
import time

import logbook
import wire

SEED = [7]


def rnd(n):
    SEED[0] = (SEED[0] * 1103515245 + 12345) & 0x7FFFFFFF
    return SEED[0] % n


pk = []
x = [0] * 8
for k in range(300):
    buf = bytearray(wire.HEADER_SIZE + 16 * 14 + wire.CRC_SIZE)
    struct.pack_into("<BBHI", buf, 0, 1, wire.KIND_FULL, 0, 14 * k)
    for i in range(14):
        for c in range(8):
            x[c] = max(-32767, min(32767, x[c] + rnd(41) - 20))
        struct.pack_into("<8h", buf, 8 + 16 * i, *x)
    pk.append(buf)
st = logbook.array("i", bytes(4 * 36))
dst = bytearray(logbook.SLOT)


def run(enc):
    n = 0
    t0 = time.ticks_us()
    for _rep in range(5):
        for p in pk:
            i = 0
            while i < 14:
                st[16] = i
                st[17] = 14
                st[18] = 36
                st[19] = logbook.MAX_RECORD - 2
                j = enc(p, st, dst)
                n += j - i
                i = j if j > i else 14
    return time.ticks_diff(time.ticks_us(), t0), n


for name, enc in (("viper", logbook._enc_viper), ("bytecode", logbook._enc_py)):
    us, n = run(enc)
    print("%s_us_per_sample=%.3f" % (name, us / n))
t0 = time.ticks_us()
for _rep in range(5):
    for p in pk:
        wire.crc16(p, len(p) - 2)
print("crc_us_per_sample=%.3f" % (time.ticks_diff(time.ticks_us(), t0) / (5 * 14 * len(pk))))
