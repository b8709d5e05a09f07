"""Shopping words that mean the same thing, for matching what shoppers type to product titles.

A small general table, written for any shop: regional words (trainers, nappy, torch),
spelling (colour, tyre, aluminium), units and pack counts as feeds and shoppers write them.
Both a title and a question are rewritten with it before they are compared, so either
side may use either word. The first word of each group is the one kept; multi-word
phrases are matched whole, longest first.
"""
from __future__ import annotations

# canonical: other ways of saying it
SYNONYMS: dict[str, tuple[str, ...]] = {
    # electronics
    "charger": ("power adapter", "power adaptor", "power brick", "wall charger", "charging brick", "adapter",
                "adaptor", "charging block"),
    "power bank": ("portable charger", "battery pack", "powerbank", "external battery"),
    "cable": ("cord",),
    "earbuds": ("earphones", "in ear headphones", "ear buds", "earpods"),
    "headphones": ("headset", "over ear headphones"),
    "phone": ("cellphone", "cell phone", "mobile phone", "smartphone", "smart phone"),
    "laptop": ("notebook computer", "notebook pc"),
    "tv": ("television", "telly"),
    "dash cam": ("dashcam", "dashboard camera", "dash camera", "car camera", "car dvr"),
    "flash drive": ("usb stick", "thumb drive", "pen drive", "usb drive", "memory stick"),
    "mouse pad": ("mousepad", "mouse mat"),
    "remote": ("remote control",),
    "webcam": ("web cam", "web camera"),
    "speaker": ("loudspeaker",),
    "light bulb": ("lightbulb",),
    "extension cord": ("extension lead", "extension cable"),
    # clothing and shoes
    "sneakers": ("trainers", "sneaker", "kicks", "tennis shoes"),
    "tshirt": ("t shirt", "tee shirt"),
    "sweater": ("jumper", "pullover"),
    "hoodie": ("hooded sweatshirt", "hoody"),
    "pants": ("trousers",),
    "sweatpants": ("joggers", "track pants", "jogging bottoms", "trackies"),
    "swimsuit": ("swimwear", "bathing suit", "swimming costume", "swim suit"),
    "rain boots": ("wellies", "wellington boots", "wellingtons", "gumboots", "rubber boots"),
    "raincoat": ("rain jacket", "rain coat"),
    "beanie": ("knit hat", "toque", "woolly hat"),
    "sunglasses": ("sunnies",),
    "flip flops": ("flipflops", "jandals"),
    "purse": ("handbag",),
    "wallet": ("billfold",),
    "backpack": ("rucksack", "knapsack", "daypack", "back pack"),
    "suitcase": ("trolley bag", "trolley case", "rolling luggage", "roller bag", "luggage bag"),
    "carry on": ("carryon", "cabin bag", "hand luggage", "cabin luggage"),
    # home
    "sofa": ("couch", "settee"),
    "duvet": ("comforter",),
    "curtain": ("drape", "drapes"),
    "rug": ("area rug",),
    "trash can": ("garbage can", "rubbish bin", "waste bin", "dustbin", "trashcan"),
    "flashlight": ("torch",),
    "faucet": ("mixer tap",),
    "refrigerator": ("fridge",),
    "planter": ("plant pot", "flower pot", "flowerpot"),
    "vacuum": ("hoover", "vacuum cleaner"),
    "cooler": ("cool box", "coolbox", "ice chest", "cooler box"),
    "grill": ("bbq", "barbecue", "barbeque"),
    "skillet": ("frying pan", "fry pan"),
    "coffee maker": ("coffee machine", "coffeemaker"),
    "air fryer": ("airfryer",),
    "tape measure": ("measuring tape", "tape rule", "measure tape"),
    "wrench": ("spanner",),
    "pruner": ("secateurs", "pruning shears", "hand pruner"),
    "lawn mower": ("lawnmower", "mower"),
    # personal care
    "hair dryer": ("hairdryer", "blow dryer", "blowdryer", "hair drier", "blow drier"),
    "flat iron": ("hair straightener", "straightener", "straightening iron"),
    "trimmer": ("groomer",),
    "razor": ("shaver",),
    "moisturizer": ("moisturiser",),
    # baby, kids, pets, toys
    "stroller": ("pushchair", "buggy", "pram"),
    "diaper": ("nappy", "nappies"),
    "pacifier": ("dummy", "soother"),
        "high chair": ("highchair",),
    "nipple": ("teat", "teats"),
    "teddy bear": ("teddy",),
    "plush": ("stuffed animal", "soft toy", "plushie", "stuffie"),
    "puzzle": ("jigsaw", "jigsaw puzzle"),
    "aquarium": ("fish tank",),
    "litter box": ("litter tray", "litter pan"),
    "cat tree": ("cat tower", "cat condo"),
    # sport and outdoors
    "bike": ("bicycle",),
    "jump rope": ("skipping rope", "skip rope"),
    "dumbbell": ("dumbell", "hand weight"),
    "tire inflator": ("tire pump", "tyre pump", "tyre inflator", "air pump for tires"),
    "olive oil": ("evoo",),
    # sizes spelt out
    "xl": ("extra large", "x large", "xlarge"),
    "xs": ("extra small", "x small", "xsmall"),
    "2xl": ("xxl", "xx large", "2x large", "extra extra large"),
}

# British (and other) spellings, word for word.
SPELLINGS: dict[str, str] = {
    "colour": "color", "colours": "colors", "grey": "gray", "aluminium": "aluminum", "tyre": "tire", "tyres": "tires",
    "litre": "liter", "litres": "liters", "metre": "meter", "metres": "meters", "centimetre": "centimeter",
    "millimetre": "millimeter", "organiser": "organizer", "flavour": "flavor", "flavoured": "flavored",
    "favourite": "favorite", "jewellery": "jewelry", "pyjamas": "pajamas", "cosy": "cozy", "fibre": "fiber",
    "centre": "center", "mould": "mold", "vapour": "vapor", "catalogue": "catalog", "stainless-steel": "stainless steel",
    "doughnut": "donut", "plough": "plow", "programme": "program", "storey": "story", "sulphur": "sulfur",
}

# Units, after a number: what "5 lbs", '12"' or "2 L" mean.
UNITS: dict[str, str] = {
    "lb": "lb", "lbs": "lb", "pound": "lb", "pounds": "lb",
    "oz": "oz", "ounce": "oz", "ounces": "oz",
    "inch": "inch", "inches": "inch",  # "12 in" only where it cannot be "in stock" (text.rewrite)
    "ft": "ft", "feet": "ft", "foot": "ft",
    "l": "l", "liter": "l", "liters": "l", "ltr": "l",
    "ml": "ml", "milliliter": "ml", "milliliters": "ml",
    "qt": "qt", "quart": "qt", "quarts": "qt",
    "gal": "gal", "gallon": "gal", "gallons": "gal",
    "g": "g", "gram": "g", "grams": "g", "gr": "g",
    "kg": "kg", "kilo": "kg", "kilos": "kg", "kilogram": "kg", "kilograms": "kg",
    "w": "w", "watt": "w", "watts": "w",
    "v": "v", "volt": "v", "volts": "v",
    "mah": "mah", "mm": "mm", "cm": "cm", "m": "m",
    "gb": "gb", "tb": "tb", "mp": "mp", "hz": "hz",
}

# After a number, these say how many are in the box: "3 pack", "3pk", "12 ct", "6 pcs",
# "24 coffee pods". Each is read as its own word; the number with any of them also gives
# one shared token ("3pack"), so "3-Pack", "set of 3" and "3 pcs" meet.
COUNT_WORDS: dict[str, str] = {
    "pack": "pack", "packs": "pack", "pk": "pack", "pck": "pack", "ct": "count", "count": "count",
    "pc": "piece", "pcs": "piece", "piece": "piece", "pieces": "piece", "set": "set", "sets": "set",
    "pair": "pair", "pairs": "pair", "bag": "bag", "bags": "bag", "unit": "unit", "units": "unit",
    "roll": "roll", "rolls": "roll", "bottle": "bottle", "bottles": "bottle", "can": "can", "cans": "can",
    "pod": "pod", "pods": "pod", "capsule": "capsule", "capsules": "capsule", "sheet": "sheet", "sheets": "sheet",
    "tablet": "tablet", "tablets": "tablet",
}

# Words after which a title or a question names what an accessory goes with:
# "replacement jar for the X", "cartridges compatible with X", "case that fits X".
FOR_WORDS = ("for", "compatible with", "fits", "to fit", "designed for", "made for", "works with")

# Words that make a product an accessory or a part of another: unless the shopper says one
# of these (or "for ..."), a bare device name means the device, not its spare jar.
ACCESSORY_WORDS = frozenset({"accessory", "accessories", "replacement", "replacements", "spare", "spares", "refill",
                             "refills", "attachment", "attachments", "parts", "compatible", "genuine"})
