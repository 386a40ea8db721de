"""Boot entry of the belt unit: build the real hardware and run the app (see app.py).

Copied to the board with ``beltline device flash``; runs at power-on. Files live in the
working directory (the flash's root on the board): ``settings.json``, ``bonds.json`` and
``logbook.bin`` (it grows as it fills, up to the free space: see ``logbook.py``). The virtual
belt unit (``beltline.sim``) calls ``build`` with its simulated clock and runs this same code
on simulated hardware.
"""

import bluetooth
import machine
from machine import ADC, I2C, PWM, WDT, Pin

import app
import board
import bonds
import gatt
import logbook
import lsm6dso
import mpu6050


def find_imu(i2c):
    """The BOM's LSM6DSO, or the other supported family (MPU-6050/6500), by address."""
    found = i2c.scan()
    if lsm6dso.ADDRESS in found or 0x6B in found:
        return lsm6dso.LSM6DSO(i2c, lsm6dso.ADDRESS if lsm6dso.ADDRESS in found else 0x6B)
    if mpu6050.ADDRESS in found:
        return mpu6050.MPU6050(i2c)
    raise OSError("no supported IMU on I2C (found %s): check the wiring in hardware/BOM.md"
                  % [hex(a) for a in found])


def build(sleep_ms=None, logbook_slots=None, secure_within_s=app.SECURE_WITHIN_S,
          lightsleep=None):
    # logbook_slots None: the logbook takes the filesystem's free space less a reserve for
    # settings, bonds and an update (logbook.auto_slots): on the BOM's 16-MB board ~13.9 MiB,
    # ~4 h of raw (hardware/BOM.md)
    machine.freq(160_000_000)  # enough for the loop (hardware/BOM.md), a third less current
    i2c = I2C(0, sda=Pin(board.PIN_SDA), scl=Pin(board.PIN_SCL), freq=400_000)
    imu = find_imu(i2c)
    periph = gatt.Peripheral(bluetooth.BLE(), firmware=app.FIRMWARE,
                             bonds=bonds.Bonds("bonds.json"))
    bat = board.Battery(ADC(Pin(board.PIN_BATTERY)))
    motor = board.Motor(PWM(Pin(board.PIN_MOTOR), freq=200))
    button = Pin(board.PIN_BUTTON, Pin.IN, Pin.PULL_UP)
    if lightsleep is None:  # the board: doze between FIFO reads (doze.py), a press wakes it
        lightsleep = machine.lightsleep
        try:
            import esp32

            esp32.wake_on_ext0(pin=button, level=esp32.WAKEUP_ALL_LOW)
        except (ImportError, AttributeError, ValueError):
            pass  # a board without EXT0 wake: a press is seen at the next FIFO read (1 s)
    wdt = WDT(timeout=5000)  # a stuck loop reboots the unit within 5 s
    log = logbook.Logbook("logbook.bin", slots=logbook_slots)
    return app.App(imu, periph, bat, motor, wdt, log, "settings.json", sleep_ms=sleep_ms,
                   button=button, secure_within_s=secure_within_s, lightsleep=lightsleep)


def main():
    build().run()


if __name__ == "__main__":
    main()
