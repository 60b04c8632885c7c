"""Company names, org numbers and vendor article numbers: Swedish, Unicode and a few awkward ones."""

from __future__ import annotations

import datetime
import random
import unicodedata
from dataclasses import dataclass


def _words(text: str, separator: str = " ") -> tuple[str, ...]:
    return tuple(text.split(separator))


# Always present (when there is room), so views can be tested by exact, Unicode and literal
# ``%`` / ``_`` / ``\`` matching.
FEATURED_CUSTOMERS = (
    "Åkerlunds Bygg AB",
    "Örebro Ställningar",
    "Café Élan",
    "Müller GmbH",
    "100% Trä AB",
    "Bygg_Partner AB",
    "Back\\slash Teknik",
    "Ängelholms El & Data AB",
    "50% Rabatt_Lager HB",
)
FEATURED_VENDORS = ("Nordic Widgets AB", "Schrauben-Müller GmbH", "Verktygsgrossisten i Norr AB")

SURNAMES = _words(
    "Åkerlunds Lindqvists Bergströms Sjögrens Öbergs Hällströms Nyléns Ekdahls Johanssons "
    "Karlssons Nilssons Perssons Sundbergs Wikströms Lövgrens Ågrens Forsbergs Håkanssons "
    "Engströms Dahléns Björks Strömbergs Ljungs Sandéns Larssons Anderssons Gustafssons "
    "Olssons Mattssons Holmgrens Nordqvists Sjöbergs Lundgrens Froléns Bäckströms Åströms "
    "Lindéns Malmströms Rydéns Hedlunds Söderbergs Grönlunds Källmans Östlunds Thorséns"
)
PLACES = _words(
    "Örebro Göteborgs Malmö Västerås Umeå Jönköpings Linköpings Luleå Gävle Skövde Växjö "
    "Norrköpings Södertälje Borås Trollhättans Åre Kiruna Ystads Härnösands Östersunds "
    "Sölvesborgs Älmhults Höganäs Sundsvalls Kalmar Karlstads Falu Nyköpings Eskilstuna "
    "Uppsala Lunds Helsingborgs Halmstads Visby Piteå Skellefteå Örnsköldsviks Hudiksvalls "
    "Mölndals Kungälvs Täby Järfälla Märsta Båstads Åmåls Säffle Hässleholms"
)
FOREIGN = (
    ("Müller", "GmbH"),
    ("Schäfer", "GmbH"),
    ("Brüggen", "GmbH"),
    ("Løkken", "AS"),
    ("Bjørnstad", "AS"),
    ("Ærø", "ApS"),
    ("Søndergaard", "ApS"),
    ("Hughes", "Ltd"),
    ("Whitfield", "Ltd"),
    ("Peña", "Inc"),
    ("Gonçalves", "Inc"),
    ("Dvořák", "GmbH"),
)
TRADES = _words(
    "Bygg|Ställningar|Verktyg|Järn|El & Data|Rör|Måleri|Snickeri|Maskin|Fastighetsservice|Plåt|"
    "Trädgård|Logistik|Industriservice|Montage|Bil & Däck|Teknik|Värme|Kyl & Frys|Mekaniska|"
    "Golv|Glas|Entreprenad|Marin",
    "|",
)
HOME_FORMS = ("AB", "AB", "AB", "HB", "& Söner AB", "i Norr AB", "Handelsbolag", "")
CAFES = ("Café Élan", "Konditori Åsa", "Brasserie Öster", "Crème Café", "Fika & Bröd")
REGIONS = ("Syd", "Nord", "Väst", "Öst", "Mitt")
NAME_ATTEMPTS = 6
CURRENCY_OF_FORM = {"GmbH": "EUR", "AS": "NOK", "ApS": "DKK", "Ltd": "GBP", "Inc": "USD"}


@dataclass(frozen=True, slots=True)
class CompanyName:
    name: str
    native_currency: str | None  # None: a home company, billed in the tenant's currency


def company_name(rng: random.Random) -> CompanyName:
    roll = rng.random()
    if roll < 0.1:
        stem, form = rng.choice(FOREIGN)
        return CompanyName(f"{stem} {rng.choice(TRADES)} {form}", CURRENCY_OF_FORM[form])
    if roll < 0.13:
        return CompanyName(f"{rng.choice(CAFES)} {rng.choice(PLACES)}", None)
    stem = rng.choice(SURNAMES if roll < 0.6 else PLACES)
    region = rng.choice(REGIONS) if rng.random() < 0.2 else ""
    return CompanyName(
        " ".join(filter(None, (stem, rng.choice(TRADES), region, rng.choice(HOME_FORMS)))), None
    )


def featured_company(name: str) -> CompanyName:
    form = name.rsplit(" ", 1)[-1]
    return CompanyName(name, CURRENCY_OF_FORM.get(form))


def company_names(rng: random.Random, count: int, featured: tuple[str, ...]) -> list[CompanyName]:
    """``count`` distinct names, the featured ones first; a rare clash becomes a branch office."""
    names = [featured_company(name) for name in featured[:count]]
    taken = {name.name for name in names}
    while len(names) < count:
        candidate = company_name(rng)
        for _ in range(NAME_ATTEMPTS):
            if candidate.name not in taken:
                break
            candidate = company_name(rng)
        names.append(CompanyName(_branch_of(candidate.name, taken), candidate.native_currency))
    return names


def _branch_of(name: str, taken: set[str]) -> str:
    unique, branch = name, 1
    while unique in taken:
        branch += 1
        unique = f"{name} (filial {branch})"
    taken.add(unique)
    return unique


def org_number(rng: random.Random, native_currency: str | None) -> str | None:
    if rng.random() < 0.03:
        return None
    if native_currency == "EUR":
        return f"HRB {rng.randint(10000, 99999)}"
    if native_currency is not None:
        return f"{rng.randint(100_000_000, 999_999_999)}"
    return f"55{rng.randint(0, 9999):04d}-{rng.randint(0, 9999):04d}"


def vendor_code(name: str) -> str:
    """Initials of the vendor's name, ASCII only: "Nordic Widgets AB" -> "NW"."""
    ascii_name = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
    words = [word for word in ascii_name.replace("-", " ").split() if word[:1].isalpha()]
    initials = "".join(word[0] for word in words[:-1] or words).upper()
    return (initials or "XX")[:3]


def vendor_sku(code: str, style: int, product_number: str, product_index: int) -> str:
    """The vendor's own article number for one of our products; each vendor has its style."""
    compact = product_number.replace("-", "").replace("_", "")
    if style == 0:
        return f"{code}-{compact}"
    if style == 1:
        return f"{code}-{product_number[:1]}-{product_index * 7919 % 100000:05d}"
    return f"{4000 + product_index % 6000}-{product_index % 97:02d}{code}"


STREETS = _words(
    "Åkervägen|Storgatan|Kungsgatan|Drottninggatan|Östra Hamngatan|Södra Förstadsgatan|Björkvägen|"
    "Ängsvägen|Kv. Eken|Kv. Måsen",
    "|",
)
MONTHS = _words("januari februari mars april maj juni juli augusti september oktober november december")
WAREHOUSE_NAMES = ("Huvudlager", "Göteborg", "Malmö")


def sales_order_title(rng: random.Random, day: datetime.date) -> str | None:
    roll = rng.random()
    if roll < 0.25:
        return f"Webshop order {day.year}-{day.month:02d}"
    if roll < 0.5:
        return f"Order {rng.randint(10000, 99999)}"
    if roll < 0.6:
        return f"Ramavtal Q{(day.month - 1) // 3 + 1}"
    if roll < 0.72:
        return f"Projekt {rng.choice(STREETS)} {rng.randint(1, 60)}"
    if roll < 0.82:
        return f"Service {MONTHS[day.month - 1]}"
    return None


def purchase_order_title(rng: random.Random, day: datetime.date) -> str | None:
    roll = rng.random()
    if roll < 0.3:
        return f"Påfyllning {rng.choice(WAREHOUSE_NAMES)}"
    if roll < 0.55:
        return f"Inköp vecka {day.isocalendar().week}"
    if roll < 0.75:
        return f"Beställning {rng.randint(1000, 9999)}"
    if roll < 0.85:
        return f"Kundorder {rng.randint(10000, 99999)}"
    return None


def credit_title(rng: random.Random, invoice_number: int | None) -> str:
    roll = rng.random()
    if roll < 0.5 and invoice_number is not None:
        return f"Kredit av faktura {invoice_number}"
    return rng.choice(("Retur: skadat gods", "Prisjustering", "Reklamation", "Felleverans, åter"))
