"""The link from the belt unit to the host: the Link interface, the Bluetooth link (bleak), the
receiver and timeline that rebuild the sample stream, and the host side of the wire format.
Never imports the pipeline, the store, the dashboard or the simulator."""
