"""Product numbers, descriptions, list prices and barcodes of a hardware wholesaler's range."""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Article:
    number: str
    description: str
    price_sek_cents: int
    vat_pct: int


DIAMETERS = (3, 4, 5, 6, 8, 10, 12, 14, 16, 20, 24)
LENGTHS = tuple(range(10, 205, 5))
FINISHES = ("ZN", "A2", "A4", "FZV", "8.8")
WIDGET_SIZES = ("small", "medium", "large", "XL", "mini")
COLOURS = ("blå", "röd", "svart", "grön", "gul", "vit")
POWER_TOOLS = (
    "Skruvdragare 18V",
    "Borrmaskin 750W",
    "Vinkelslip 125 mm",
    "Sticksåg 650W",
    "Multiverktyg 300W",
    "Slagborrmaskin 18V",
    "Cirkelsåg 1400W",
    "Bandslip 950W",
)
TOOL_GRADES = ("Proffs", "Hobby", "Kraftig", "Kompakt")
PIPE_SIZES = (10, 12, 15, 18, 22, 28, 35, 42, 54)
CABLES = ("EKK 3G1,5", "EKK 3G2,5", "EKK 5G1,5", "FK 1,5", "EXQ 5G2,5")
CABLE_METRES = (10, 25, 50, 100)
TIMBER = ((45, 70), (45, 95), (45, 120), (45, 145), (22, 95), (34, 70))
TIMBER_MM = (2400, 3000, 3600, 4200, 4800, 5400)
PAINTS = ("Täckfärg vit", "Fasadfärg röd", "Lackfärg svart", "Grundfärg", "Golvfärg grå")
PAINT_LITRES = (1, 3, 10)
SAFETY = ("Arbetshandske 100% nitril, stl {}", "Skyddsglasögon klar, {}", "Hörselskydd, {}")
SAFETY_SIZES = ("S", "M", "L", "XL", "10")
GROCERIES = ("Kaffe mellanrost 500 g", "Kaffe mörkrost 450 g", "Te grönt 100 st", "Kakor sortiment")


def _fastener(rng: random.Random, seq: int) -> Article:
    diameter, finish = rng.choice(DIAMETERS), rng.choice(FINISHES)
    suffix = "" if finish == "ZN" else f"-{finish.replace('.', '')}"
    kind = rng.random()
    if kind < 0.8:
        length = rng.choice(LENGTHS)
        cents = 40 + diameter * length * rng.randint(2, 4) // 2
        return Article(
            f"SKR-M{diameter}-{length}{suffix}", f"DIN 933 M{diameter}x{length} {finish}", cents, 25
        )
    if kind < 0.9:
        return Article(f"MUT-M{diameter}{suffix}", f"DIN 934 M{diameter} {finish}", 20 + diameter * 12, 25)
    return Article(f"BRI-M{diameter}{suffix}", f"DIN 125 M{diameter} {finish}", 10 + diameter * 5, 25)


def _widget(rng: random.Random, seq: int) -> Article:
    size = rng.choice(WIDGET_SIZES)
    description = f"Widget, {size}" if rng.random() < 0.5 else f"Widget, {size}, {rng.choice(COLOURS)}"
    return Article(f"WID-{seq}", description, rng.randint(30, 900) * 100, 25)


def _power_tool(rng: random.Random, seq: int) -> Article:
    name = f"{rng.choice(POWER_TOOLS)} {rng.choice(TOOL_GRADES)}"
    return Article(f"VRK-{100 + seq}", name, rng.randint(5, 45) * 10000 - 100, 25)


def _pipe(rng: random.Random, seq: int) -> Article:
    size = rng.choice(PIPE_SIZES)
    metres = rng.choice((3, 5))
    return Article(f"ROR-CU{size}-{metres}M", f"Kopparrör {size} mm, {metres} m", size * metres * 900, 25)


def _cable(rng: random.Random, seq: int) -> Article:
    cable, metres = rng.choice(CABLES), rng.choice(CABLE_METRES)
    number = f"KAB-{cable.split()[0]}{cable.split()[1].replace(',', '')}-{metres}"
    return Article(number, f"Kabel {cable} ({metres} m)", metres * rng.randint(900, 2500), 25)


def _timber(rng: random.Random, seq: int) -> Article:
    (thick, wide), mm = rng.choice(TIMBER), rng.choice(TIMBER_MM)
    metres = f"{mm / 1000:.1f}".replace(".", ",")
    return Article(
        f"TRÄ-{thick}x{wide}-{mm}", f"Regel {thick}x{wide} C24 {metres} m", thick * wide * mm // 900, 25
    )


def _paint(rng: random.Random, seq: int) -> Article:
    litres = rng.choice(PAINT_LITRES)
    return Article(f"FÄR-{seq}", f"{rng.choice(PAINTS)} {litres} l", litres * rng.randint(90, 220) * 100, 25)


def _safety(rng: random.Random, seq: int) -> Article:
    description = rng.choice(SAFETY).format(rng.choice(SAFETY_SIZES))
    return Article(f"SKY-{seq}", description, rng.randint(25, 400) * 100, 25)


def _grocery(rng: random.Random, seq: int) -> Article:
    return Article(f"KAF-{seq}", rng.choice(GROCERIES), rng.randint(45, 160) * 100, 12)


def _kit(rng: random.Random, seq: int) -> Article:
    return Article(
        f"KIT_{seq}", f"Startkit_{rng.choice(('bas', 'proffs'))} {seq}", rng.randint(5, 30) * 10000, 25
    )


def _spare_part(rng: random.Random, seq: int) -> Article:
    machine = rng.choice(POWER_TOOLS).split()[0].lower()
    return Article(f"RES-{10000 + seq}", f"Reservdel {machine}", rng.randint(4, 250) * 100 + 50, 25)


Family = Callable[[random.Random, int], Article]
FAMILIES: tuple[tuple[Family, float], ...] = (
    (_fastener, 0.3),
    (_widget, 0.12),
    (_power_tool, 0.08),
    (_pipe, 0.05),
    (_cable, 0.05),
    (_timber, 0.06),
    (_paint, 0.06),
    (_safety, 0.06),
    (_grocery, 0.05),
    (_kit, 0.01),
    (_spare_part, 0.16),
)
ATTEMPTS = 4


def article_range(rng: random.Random, count: int) -> list[Article]:
    """``count`` articles with distinct numbers; a family that runs out of numbers yields spare parts."""
    families = [family for family, _ in FAMILIES]
    weights = [weight for _, weight in FAMILIES]
    sequence = dict.fromkeys(families, 0)
    taken: set[str] = set()
    articles: list[Article] = []
    while len(articles) < count:
        article = None
        for _ in range(ATTEMPTS):
            family = rng.choices(families, weights)[0]
            sequence[family] += 1
            candidate = family(rng, sequence[family])
            if candidate.number not in taken:
                article = candidate
                break
        if article is None:
            sequence[_spare_part] += 1
            article = _spare_part(rng, sequence[_spare_part])
        taken.add(article.number)
        articles.append(article)
    return articles


def ean13(index: int) -> str:
    digits = f"735012{index:06d}"
    weighted = sum(int(digit) * (3 if position % 2 else 1) for position, digit in enumerate(digits))
    return digits + str(-weighted % 10)
