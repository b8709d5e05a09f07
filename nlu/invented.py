"""Invented, feed-like product names: for training data and for the name-swap test.

Product names are open-class: a merchant's catalog holds names no training sentence
contained. Training on a few dozen tidy names teaches the classifier those names; training
on thousands of made-up ones, shaped like real feeds (brand first, last or in capitals,
pipes, dashes, spec lists, model numbers, pack sizes, no generic noun at all), teaches it
that the name does not matter. Brands are nonsense words from syllables, so they belong
to no real merchant and to no evaluation set. Everything is seeded: the same seed gives
the same names.
"""
from __future__ import annotations

import random

_ONSETS = ["b", "br", "c", "cr", "d", "dr", "f", "fl", "g", "gr", "h", "j", "k", "kl", "l", "m", "n", "p",
           "pl", "qu", "r", "s", "sk", "st", "t", "tr", "v", "w", "z", "x", "sh", "th", "ch"]
_VOWELS = ["a", "e", "i", "o", "u", "ai", "ea", "ou", "y", "io"]
_CODAS = ["", "", "n", "r", "l", "x", "s", "m", "nd", "rt", "ck", "lk", "v", "ne", "ra", "o", "ix", "ett"]

# Generic things a shop sells, across departments (singular; a few have common synonyms).
NOUNS = [
    "kettle", "toaster", "blender", "air fryer", "coffee grinder", "espresso machine", "rice cooker",
    "food processor", "hand mixer", "waffle maker", "juicer", "frying pan", "saucepan", "knife set",
    "cutting board", "lunch box", "water bottle", "travel mug", "thermos", "teapot", "salad spinner",
    "humidifier", "dehumidifier", "air purifier", "desk fan", "space heater", "vacuum cleaner",
    "robot vacuum", "steam mop", "iron", "garment steamer", "smoke alarm", "door lock", "doorbell camera",
    "light bulb", "desk lamp", "floor lamp", "extension cord", "power strip", "bath towel", "duvet",
    "pillow", "mattress topper", "shower curtain", "laundry basket", "storage bin", "shoe rack",
    "headphones", "earbuds", "bluetooth speaker", "soundbar", "smart watch", "fitness tracker",
    "phone case", "screen protector", "charger", "power bank", "usb cable", "laptop stand", "monitor",
    "keyboard", "mouse", "webcam", "microphone", "router", "tablet", "e-reader", "printer", "ink cartridge",
    "game controller", "gaming headset", "hard drive", "memory card", "camera", "tripod", "drone",
    "running shoes", "sneakers", "trainers", "hiking boots", "sandals", "slippers", "rain jacket",
    "puffer jacket", "fleece", "hoodie", "t-shirt", "polo shirt", "jeans", "leggings", "sports bra",
    "socks", "beanie", "scarf", "gloves", "backpack", "duffel bag", "suitcase", "wallet", "belt",
    "sunglasses", "watch strap", "shampoo", "conditioner", "face serum", "moisturizer", "sunscreen",
    "lip balm", "hair dryer", "hair straightener", "beard trimmer", "electric toothbrush", "razor",
    "nail polish", "perfume", "body lotion", "yoga mat", "dumbbell set", "resistance bands",
    "kettlebell", "bike helmet", "bike light", "tent", "sleeping bag", "camping stove", "headlamp",
    "cooler", "fishing rod", "football", "tennis racket", "golf balls", "skateboard", "scooter",
    "building set", "puzzle", "board game", "plush toy", "doll house", "toy car", "kite", "crayons",
    "baby monitor", "stroller", "car seat", "high chair", "baby bottle", "diaper bag", "dog bed",
    "cat tree", "dog leash", "pet feeder", "litter box", "fish tank", "bird feeder", "garden hose",
    "pruning shears", "lawn mower", "leaf blower", "plant pot", "watering can", "drill", "screwdriver set",
    "tool box", "tape measure", "ladder", "work gloves", "notebook", "fountain pen", "desk organizer",
    "office chair", "standing desk", "bookshelf", "label maker", "paper shredder", "calculator",
]

_SPECS = [
    "4L", "1.7L", "2 qt", "6 qt", "500ml", "32 oz", "64oz", "1200W", "1500 W", "800W", "20000mAh",
    "65W", "USB-C", "Bluetooth 5.3", "Wi-Fi", "4K", "1080p", "27 inch", "15.6 inch", "10 ft", "3-pack",
    "2 pack", "Pack of 6", "set of 4", "12 settings", "6 speeds", "Quiet", "Night Light", "BPA-Free",
    "Stainless Steel", "Non-Stick", "Cordless", "Rechargeable", "Waterproof", "Lightweight", "Foldable",
    "Dishwasher Safe", "Auto Shut-Off", "Timer", "LED Display", "Large Capacity", "Compact", "Portable",
    "Extra Soft", "Organic Cotton", "Memory Foam", "SPF 50", "Fragrance Free", "Unisex", "Adjustable",
    "anti-static cup", "touch control", "quick charge", "noise cancelling", "long battery life",
]
_PARTS = ["replacement filter", "spare battery", "carry case", "replacement jar", "charging dock",
          "replacement brush heads", "screen protector", "replacement blade", "lid", "strap", "refill pack"]
_USES = ["for Kitchen", "for Home", "for Travel", "for Office", "for Kids", "for Men", "for Women",
         "for Bedroom", "for Camping", "for Gym", "for Dogs", "for Cats", "for Car"]


def brand(rng: random.Random) -> str:
    syllables = rng.choice([2, 2, 2, 3])
    word = "".join(rng.choice(_ONSETS) + rng.choice(_VOWELS) for _ in range(syllables - 1))
    return (word + rng.choice(_ONSETS) + rng.choice(_VOWELS) + rng.choice(_CODAS)).capitalize()


def model_number(rng: random.Random) -> str:
    letters = "".join(rng.choice("ABCDEFGHKLMNPRSTVXZ") for _ in range(rng.choice([1, 2, 2, 3])))
    digits = str(rng.choice([rng.randint(1, 9), rng.randint(10, 99), rng.randint(100, 990)]))
    sep = rng.choice(["-", "", " ", "-"])
    return f"{letters}{sep}{digits}" + rng.choice(["", "", "", "X", " Pro", " Max", " Mini", " Plus", " 2"])


def _title_noun(noun: str) -> str:
    return " ".join(w.capitalize() if w.islower() else w for w in noun.split())


def title(rng: random.Random) -> str:
    """One feed-like title, as a merchant's import file would have it."""
    b, n, m = brand(rng), rng.choice(NOUNS), model_number(rng)
    specs = rng.sample(_SPECS, rng.randint(1, 4))
    shape = rng.randrange(10)
    if shape == 0:
        return f"{b.upper()} {_title_noun(n)} | " + " | ".join(specs)
    if shape == 1:
        return f"{b} {m} – " + ", ".join(s.lower() for s in specs)  # no generic noun at all
    if shape == 2:
        return f"{_title_noun(n)} {rng.choice(_USES)} " + " with ".join(specs[:2]) + f", {b.upper()}"
    if shape == 3:
        return f"{b} {m} {_title_noun(n)}, " + ", ".join(specs)
    if shape == 4:
        return f"{_title_noun(rng.choice(_PARTS))} for {b} {m}" + (f", {specs[0]}" if rng.random() < 0.5 else "")
    if shape == 5:
        return f"{b} {_title_noun(n)} - {specs[0]}"
    if shape == 6:
        return f"{b} {rng.choice(['Pro', 'Aero', 'Nova', 'Flex', 'Core', 'Edge', 'Lite', 'Prime'])} {rng.randint(2, 9)}"
    if shape == 7:
        return f"{specs[0]} {_title_noun(n)} by {b}"
    if shape == 8:
        return f"{b.upper()} {m} {_title_noun(n)}"
    return f"{b} {_title_noun(n)}"


def mention(rng: random.Random) -> str:
    """How a shopper names a product in chat: often shorter and lower case than its title."""
    b, n = brand(rng), rng.choice(NOUNS)
    shape = rng.randrange(9)
    if shape == 0:
        return title(rng)  # a pasted title
    if shape == 1:
        return f"{b.lower()} {model_number(rng).lower()}"  # bare "brand model"
    if shape == 2:
        return f"{b.lower()} {n}"
    if shape == 3:
        return f"{b} {n}"
    if shape == 4:
        return f"{n} from {b}"
    if shape == 5:
        return f"{rng.choice(_PARTS)} for the {b.lower()} {model_number(rng).lower()}"
    if shape == 6:
        return f"{b.lower()} {rng.choice(_SPECS).lower()} {n}"
    if shape == 7:
        return title(rng).lower()
    return n


def names(count: int, seed: int, chat: bool = True) -> list[str]:
    """``count`` distinct invented names (mentions if ``chat``, else titles)."""
    rng = random.Random(seed)
    out: list[str] = []
    seen: set[str] = set()
    while len(out) < count:
        name = (mention if chat else title)(rng)
        if name.lower() not in seen:
            seen.add(name.lower())
            out.append(name)
    return out
