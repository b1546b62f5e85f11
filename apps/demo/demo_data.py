"""The demo merchant, as plain data.

Mission Street Kitchen & Market: a taqueria with a small retail corner, in three stores.
`seed_demo` loads it into Concord and the platform emulators seed themselves from it, so
both sides agree on SKUs, locations and opening stock. No model imports here.
"""

CURRENCY = "USD"

LOCATIONS = [
    # code, name, timezone, the POS the store rings sales on, the combined sales-tax rate
    # in basis points (New York City's 8.875% rounds to 888: a rate is whole basis points)
    # and the tax categories exempt there. Groceries for home are untaxed in California and
    # New York; Chicago's 1% local grocery tax is not modelled (exempt is the closer figure).
    {"code": "OAK", "name": "Oakland", "timezone": "America/Los_Angeles", "pos": "square",
     "tax_rate_bps": 1025, "tax_exempt": ["grocery"]},
    {"code": "BKN", "name": "Brooklyn", "timezone": "America/New_York", "pos": "toast",
     "tax_rate_bps": 888, "tax_exempt": ["grocery"],
     "business_day_starts_at": 4},  # Toast's closeout hour: sales before 04:00 are the day before
    {"code": "CHI", "name": "Chicago", "timezone": "America/Chicago", "pos": "clover",
     "tax_rate_bps": 1025, "tax_exempt": ["grocery"]},
]

# The retail corner's food for home (coffee beans, salsa jars, tortillas, mole paste):
# the "grocery" tax category. Everything else (prepared food, drinks, merch) is standard.
GROCERY_SKU_PREFIXES = ("BEANS-", "SALSA-JAR-", "HOT-SAUCE", "TORTILLAS-", "MOLE-PASTE")


def tax_category(product: dict) -> str:
    skus = [variant["sku"] for variant in product["variants"]]
    return "grocery" if all(sku.startswith(GROCERY_SKU_PREFIXES) for sku in skus) else "standard"

# Modifier groups: code -> (name, min, max, [(sku, name, price delta in cents)])
MODIFIER_GROUPS = {
    "ADDONS": ("Add-ons", 0, 4, [
        ("EXTRA-GUAC", "Extra guacamole", 200),
        ("EXTRA-CHEESE", "Extra cheese", 100),
        ("ADD-CHICKEN", "Add chicken", 300),
        ("ADD-STEAK", "Add steak", 400),
    ]),
    "SALSA": ("Salsa", 0, 1, [
        ("SALSA-VERDE", "Salsa verde", 0),
        ("SALSA-ROJA", "Salsa roja", 0),
        ("SALSA-HABANERO", "Habanero salsa", 50),
    ]),
    "MILK": ("Milk", 0, 1, [
        ("OAT-MILK", "Oat milk", 75),
        ("ALMOND-MILK", "Almond milk", 75),
    ]),
    "SHOTS": ("Espresso", 0, 3, [
        ("EXTRA-SHOT", "Extra shot", 100),
    ]),
    "WRAP": ("Gift wrap", 0, 1, [
        ("GIFT-WRAP", "Gift wrap", 300),
    ]),
}


def _one(sku, name, price, category, groups=()):
    return {"name": name, "category": category, "modifier_groups": list(groups),
            "variants": [{"sku": sku, "name": name, "price": price}]}


def _sized(base, name, category, sizes, groups=()):
    return {"name": name, "category": category, "modifier_groups": list(groups),
            "variants": [{"sku": f"{base}-{code}", "name": f"{name}, {label}", "price": price}
                         for code, label, price in sizes]}


PRODUCTS = [
    _one("BURRITO", "Burrito", 950, "Food", ["ADDONS", "SALSA"]),
    _one("BURRITO-VEG", "Veggie burrito", 900, "Food", ["ADDONS", "SALSA"]),
    _one("BURRITO-SUPER", "Super burrito", 1250, "Food", ["ADDONS", "SALSA"]),
    _one("TACO-ASADA", "Taco asada", 375, "Food", ["ADDONS", "SALSA"]),
    _one("TACO-PASTOR", "Taco al pastor", 375, "Food", ["ADDONS", "SALSA"]),
    _one("TACO-FISH", "Fish taco", 425, "Food", ["ADDONS", "SALSA"]),
    _one("TACO-VEG", "Veggie taco", 325, "Food", ["ADDONS", "SALSA"]),
    _one("BOWL-CHICKEN", "Chicken bowl", 1095, "Food", ["ADDONS", "SALSA"]),
    _one("BOWL-VEG", "Veggie bowl", 995, "Food", ["ADDONS", "SALSA"]),
    _one("QUESADILLA", "Quesadilla", 850, "Food", ["ADDONS", "SALSA"]),
    _one("NACHOS", "Nachos", 795, "Food", ["ADDONS", "SALSA"]),
    _one("TAMALE", "Pork tamale", 450, "Food", ["SALSA"]),
    _one("ENCHILADAS", "Enchiladas verdes", 1150, "Food", ["ADDONS"]),
    _one("CHIPS-GUAC", "Chips and guacamole", 650, "Sides"),
    _one("CHIPS-SALSA", "Chips and salsa", 400, "Sides"),
    _one("ELOTE", "Elote", 500, "Sides"),
    _one("RICE-BEANS", "Rice and beans", 350, "Sides"),
    _one("CHURROS", "Churros", 550, "Desserts"),
    _one("FLAN", "Flan", 600, "Desserts"),
    _sized("HORCHATA", "Horchata", "Drinks", [("S", "small", 350), ("L", "large", 475)]),
    _sized("JAMAICA", "Agua de jamaica", "Drinks", [("S", "small", 325), ("L", "large", 450)]),
    _sized("LATTE", "Cafe latte", "Drinks", [("S", "12 oz", 450), ("L", "16 oz", 525)],
           ["MILK", "SHOTS"]),
    _sized("COLDBREW", "Cold brew", "Drinks", [("S", "12 oz", 400), ("L", "16 oz", 475)],
           ["MILK"]),
    _one("MEXICOLA", "Mexican Coke", 325, "Drinks"),
    _one("JARRITOS", "Jarritos", 300, "Drinks"),
    _one("TOPO-CHICO", "Topo Chico", 300, "Drinks"),
    _sized("BEANS-HOUSE", "House blend coffee beans", "Market",
           [("250G", "250 g", 1400), ("1KG", "1 kg", 4200)], ["WRAP"]),
    _sized("BEANS-OAXACA", "Oaxaca single-origin beans", "Market",
           [("250G", "250 g", 1800), ("1KG", "1 kg", 5400)], ["WRAP"]),
    _one("SALSA-JAR-VERDE", "Salsa verde, 16 oz jar", 899, "Market", ["WRAP"]),
    _one("SALSA-JAR-ROJA", "Salsa roja, 16 oz jar", 899, "Market", ["WRAP"]),
    _one("HOT-SAUCE", "Habanero hot sauce", 1099, "Market", ["WRAP"]),
    _one("TORTILLAS-CORN", "Corn tortillas, 30 count", 599, "Market"),
    _one("TORTILLAS-FLOUR", "Flour tortillas, 12 count", 649, "Market"),
    _one("MOLE-PASTE", "Mole paste", 1299, "Market", ["WRAP"]),
    _one("COMAL", "Cast-iron comal", 3499, "Market", ["WRAP"]),
    _one("MOLCAJETE", "Stone molcajete", 4999, "Market", ["WRAP"]),
    _sized("TEE-LOGO", "Logo T-shirt", "Merch",
           [("S", "small", 2500), ("M", "medium", 2500), ("L", "large", 2500),
            ("XL", "extra large", 2700)], ["WRAP"]),
    _sized("HOODIE", "Logo hoodie", "Merch", [("M", "medium", 5500), ("L", "large", 5500)],
           ["WRAP"]),
    _one("TOTE", "Canvas tote bag", 1800, "Merch", ["WRAP"]),
    _one("MUG", "Enamel mug", 1600, "Merch", ["WRAP"]),
    _one("GIFT-CARD-25", "Gift card, $25", 2500, "Merch"),
]


def variant_skus() -> list[str]:
    return [v["sku"] for p in PRODUCTS for v in p["variants"]]


def opening_stock(location_code: str, sku: str) -> int:
    """Deterministic opening stock: food in the dozens, merch in single digits, one
    item nearly sold out in every store so the demo shows an oversell guard at work."""
    if sku == "MOLCAJETE":
        return 3
    seed = sum(ord(c) for c in location_code + sku)
    if sku.startswith(("TEE-", "HOODIE", "COMAL", "TOTE", "MUG", "GIFT-")):
        return 4 + seed % 9
    return 20 + seed % 41
