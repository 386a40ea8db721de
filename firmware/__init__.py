# Lets the host import these modules as beltline.firmware (see pyproject.toml). Not needed on
# the device, harmless there.
