"""The simulator's own room: the virtual wearer and scenarios, the virtual device and radio, and
the simulated hardware the firmware runs on under MicroPython. Product code never imports it."""
