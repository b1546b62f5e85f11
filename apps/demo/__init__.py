"""The demo merchant: its data, its development credentials, its wiring to the emulators
and its traffic. Nothing in the product imports this package."""
