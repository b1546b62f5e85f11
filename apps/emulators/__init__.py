"""Local emulators of the platforms Concord connects to (see DESIGN.md, "Connectors and
emulators"). Each is imported lazily by dotted path, so a missing or broken one does not
stop the others from starting."""

from importlib import import_module

EMULATORS = {
    "shopify": "apps.emulators.shopify.emulator.ShopifyEmulator",
    "square": "apps.emulators.square.emulator.SquareEmulator",
    "toast": "apps.emulators.toast.emulator.ToastEmulator",
    "clover": "apps.emulators.clover.emulator.CloverEmulator",
}


def load_emulator(platform: str) -> type:
    """The emulator class for `platform`; ImportError/AttributeError if it is not there."""
    module_path, _, class_name = EMULATORS[platform].rpartition(".")
    return getattr(import_module(module_path), class_name)
