"""The ``Orders`` rows (sales orders, invoices, credits, purchase orders) with their lines,
payments and goods receipts, generated batch by batch in the planned order."""

from __future__ import annotations

import datetime
import itertools
import random
from collections import defaultdict
from dataclasses import dataclass, field
from decimal import Decimal

import sqlalchemy as sa

from demo import lines as order_lines
from demo import names, settlement, statuses
from demo.amounts import (
    discount_percent,
    from_cents,
    line_sum_ex_vat,
    line_sum_inc_vat,
    quantity,
    unit_price_sek,
    vat_rate,
)
from demo.bulk import Row, require_columns
from demo.catalog import Catalog
from demo.chance import Odds, pick
from demo.days import datetime_of, datetime_or_none
from demo.lines import Line
from demo.parties import Parties, Party
from demo.plan import PURCHASE_ORDER, SALES_CREDIT, SALES_INVOICE, SALES_ORDER, OrderPlan
from demo.run import RATE_TO_SEK, Run
from demo.settlement import Claim, Claims, payments, receipts
from tools.schema import inv_transactions, order_items, orders
from tools.schema import payments as payment_table

# Rows here are tuples in these column orders (checked against the schema at import).
require_columns(
    orders,
    "Id OrderStatusId CompanyId Name PurchaseNumber InvoiceNumber DateOrder DateDelivery DateInvoice DateDue "
    "CurrencyId TotalExVat TotalVat TotalIncVat CreditOfOrderId PaidAmount",
)
require_columns(
    order_items,
    "Id OrderId LineNo ProductId Description VendorProductNumber QtyOrdered QtyDelivered Price Discount "
    "VatRate SumExVat SumIncVat",
)
require_columns(payment_table, "Id OrderId Amount DatePaid")
require_columns(
    inv_transactions, "Id OrderItemId ProductId WarehouseLocationId Qty UnitPriceSek DateTransaction IsBooked"
)

FIRST_PURCHASE_NUMBER = 40_001
RECENT_DAYS = 90
OLD_DAYS = 365
OLD_PURCHASE_DAYS = 120
CREDIT_WINDOW_DAYS = 120
PICK_ATTEMPTS = 20
# Today's invoicing run is still a preview, waiting to be approved and sent; so are some
# invoices of the days before.
PREVIEW_DAYS, PREVIEW_SHARE = 5, 0.15

# Status odds by the document's age.
RECENT_SALES_ORDER = Odds(
    (statuses.CONFIRMED, 50),
    (statuses.PART_DELIVERED, 22),
    (statuses.QUOTE, 10),
    (statuses.PRELIMINARY_ORDER, 12),
    (statuses.CANCELLED_ORDER, 6),
)
OLDER_SALES_ORDER = Odds(
    (statuses.CANCELLED_ORDER, 35),
    (statuses.QUOTE, 37),
    (statuses.PRELIMINARY_ORDER, 8),
    (statuses.CONFIRMED, 10),
    (statuses.PART_DELIVERED, 10),
)
OLD_SALES_ORDER = Odds(
    (statuses.CANCELLED_ORDER, 42),
    (statuses.QUOTE, 46),
    (statuses.PRELIMINARY_ORDER, 4),
    (statuses.CONFIRMED, 4),
    (statuses.PART_DELIVERED, 4),
)
OLD_PURCHASE = Odds(
    (statuses.CLOSED, 82),
    (statuses.CANCELLED_PURCHASE, 6),
    (statuses.PART_RECEIVED, 7),
    (statuses.ORDERED, 3),
    (statuses.PRELIMINARY_PURCHASE, 2),
)
EXPECTED_PURCHASE = Odds(
    (statuses.CLOSED, 40),
    (statuses.PART_RECEIVED, 30),
    (statuses.ORDERED, 22),
    (statuses.CANCELLED_PURCHASE, 4),
    (statuses.PRELIMINARY_PURCHASE, 4),
)
UPCOMING_PURCHASE = Odds(
    (statuses.ORDERED, 55),
    (statuses.PRELIMINARY_PURCHASE, 18),
    (statuses.PART_RECEIVED, 12),
    (statuses.CLOSED, 10),
    (statuses.CANCELLED_PURCHASE, 5),
)


@dataclass(slots=True)
class Document:
    id: int
    status: int
    company: Party
    currency_id: int
    day: int
    delivery_day: int
    lines: list[Line]
    name: str | None = None
    purchase_number: int | None = None
    invoice_number: int | None = None
    invoice_day: int | None = None
    due_day: int | None = None
    credit_of: int | None = None
    item_ids: list[int] = field(default_factory=list)

    def total_inc_vat(self) -> int:
        return order_lines.total_inc_vat(self.lines)


@dataclass(frozen=True, slots=True)
class CreditableInvoice:
    order_id: int
    customer: Party
    currency_id: int
    invoice_day: int
    invoice_number: int | None
    lines: list[Line]


class CreditableInvoices:
    """Recently sent invoices, the ones a credit note can refer to."""

    def __init__(self) -> None:
        self._invoices: list[CreditableInvoice] = []
        self._start = 0

    def add(self, invoice: CreditableInvoice) -> None:
        self._invoices.append(invoice)

    def pick(self, rng: random.Random, day: int) -> CreditableInvoice | None:
        self._forget_before(day - CREDIT_WINDOW_DAYS)
        if self._start == len(self._invoices):
            return None
        for _ in range(PICK_ATTEMPTS):
            invoice = self._invoices[rng.randrange(self._start, len(self._invoices))]
            if invoice.invoice_day <= day:
                return invoice
        return None

    def _forget_before(self, day: int) -> None:
        while self._start < len(self._invoices) and self._invoices[self._start].invoice_day < day:
            self._start += 1
        if self._start > len(self._invoices) // 2:
            del self._invoices[: self._start]
            self._start = 0


class OrderBook:
    """Generates the planned ``Orders`` rows in order; each call returns one batch of rows."""

    def __init__(self, run: Run, plan: OrderPlan, parties: Parties, catalog: Catalog) -> None:
        self.run, self.plan, self.parties, self.catalog = run, plan, parties, catalog
        self.rng = run.rng("orders")
        self.item_ids = itertools.count(run.id_offset + 1)
        self.payment_ids = itertools.count(run.id_offset + 1)
        self.receipt_ids = itertools.count(run.id_offset + 1)
        self.purchase_numbers = itertools.count(FIRST_PURCHASE_NUMBER)
        self.creditable = CreditableInvoices()
        self.habits = settlement.customer_habits(run.rng("payers"), parties)
        self.claims = Claims()
        self.rows: dict[sa.Table, list[Row]] = {}

    def batch(self, start: int, stop: int) -> dict[sa.Table, list[Row]]:
        self.rows = {orders: [], order_items: [], payment_table: [], inv_transactions: []}
        writers = {
            SALES_INVOICE: self._sales_invoice,
            SALES_ORDER: self._sales_order,
            SALES_CREDIT: self._sales_credit,
            PURCHASE_ORDER: self._purchase_order,
        }
        for position in range(start, stop):
            writers[self.plan.kinds[position]](position)
        self._set_paid_amounts()
        return self.rows

    def _set_paid_amounts(self) -> None:
        """Each document's PaidAmount from the batch's payments (loaded without the triggers;
        ``tools.balances.install`` then only corrects documents paid in a later batch)."""
        paid: dict[int, Decimal] = defaultdict(Decimal)
        for payment in self.rows[payment_table]:
            paid[payment[1]] += payment[2]
        self.rows[orders] = [
            (*row[:-1], paid[row[0]]) if row[0] in paid else row for row in self.rows[orders]
        ]

    # -- sales invoices -----------------------------------------------------------------

    def _sales_invoice(self, position: int) -> None:
        day, invoice_day = self.plan.days[position], self.plan.invoice_days[position]
        customer = self._customer(day)
        document = self._document(
            position, statuses.INVOICE_SENT, customer, self.rng.randint(day, invoice_day)
        )
        document.lines = order_lines.sales_lines(self.rng, self.run, self.catalog, customer, day)
        order_lines.deliver_with_discrepancy(self.rng, document.lines)
        document.name = names.sales_order_title(self.rng, datetime.date.fromordinal(day))
        self._invoice(document, position, customer.term_days)
        received = self._settle_invoice(document, invoice_day, invoice_day + customer.term_days)
        self._write(document)
        self._write_payments(document.id, received)

    def _invoice(self, document: Document, position: int, term_days: int) -> None:
        document.invoice_day = self.plan.invoice_days[position]
        document.invoice_number = self.plan.invoice_numbers[position]
        document.due_day = document.invoice_day + term_days

    def _settle_invoice(self, document: Document, invoice_day: int, due_day: int) -> list[settlement.Payment]:
        """What the customer paid, by its habit; a disputed or written-off invoice waits for the
        credit note that settles it. The status follows: void and previews get no payments."""
        roll, today = self.rng.random(), self.run.today
        if roll < 0.01:
            document.status = statuses.INVOICE_VOID
            return []
        if invoice_day == today or (invoice_day >= today - PREVIEW_DAYS and roll < PREVIEW_SHARE):
            document.status = statuses.INVOICE_PREVIEW
            return []
        total, habit = document.total_inc_vat(), self.habits[document.company.id]
        if kind := settlement.claim_kind(self.rng, habit):
            claim = self._claim(document, kind, settlement.credit_day(self.rng, kind, due_day))
            self.claims.add(claim)
            undisputed = total - order_lines.total_inc_vat(claim.credit_lines)
            received = (
                payments(self.rng, habit, undisputed, invoice_day, due_day, today) if undisputed > 0 else []
            )
        else:
            received = payments(self.rng, habit, total, invoice_day, due_day, today)
            self.creditable.add(
                CreditableInvoice(
                    document.id,
                    document.company,
                    document.currency_id,
                    invoice_day,
                    document.invoice_number,
                    document.lines,
                )
            )
        overdue = sum(payment.cents for payment in received) < total and due_day < today - 7
        if overdue and self.rng.random() < 0.75:
            document.status = statuses.REMINDER_SENT
        return received

    def _claim(self, document: Document, kind: str, credit_day: int) -> Claim:
        written_off = kind == settlement.WRITE_OFF
        credit_lines = (
            [_credit_line(line) for line in document.lines]
            if written_off
            else self._credited_lines(document.lines)
        )
        return Claim(
            credit_day,
            document.id,
            document.company,
            document.currency_id,
            document.invoice_number,
            credit_lines,
            written_off,
        )

    # -- sales orders -------------------------------------------------------------------

    def _sales_order(self, position: int) -> None:
        day, today = self.plan.days[position], self.run.today
        status = _sales_order_odds(today - day).draw(self.rng)
        customer = self._customer(day)
        document = self._document(position, status, customer, day)
        document.lines = order_lines.sales_lines(self.rng, self.run, self.catalog, customer, day)
        document.name = names.sales_order_title(self.rng, datetime.date.fromordinal(day))
        self._deliver_sales_order(document)
        self._write(document)

    def _deliver_sales_order(self, document: Document) -> None:
        """Planned delivery dates: open orders mostly due soon, a quarter late; orders fully
        delivered and waiting for their invoice were delivered on time."""
        day, today, rng = document.day, self.run.today, self.rng
        lead = rng.randint(2, 30)
        document.delivery_day = day + lead
        if document.status == statuses.PART_DELIVERED:
            order_lines.deliver_in_part(rng, document.lines)
        elif document.status == statuses.CONFIRMED and rng.random() < 0.12:
            order_lines.deliver_all(document.lines)
            document.delivery_day = min(today, day + lead)
            return
        if document.status not in (statuses.CONFIRMED, statuses.PART_DELIVERED):
            return
        late = today - day >= 2 and rng.random() < (0.25 if today - day <= RECENT_DAYS else 0.7)
        if late:
            document.delivery_day = rng.randint(day + 1, today - 1)
        elif document.delivery_day < today:
            document.delivery_day = today + rng.randint(0, 21)

    # -- sales credits ------------------------------------------------------------------

    def _sales_credit(self, position: int) -> None:
        day = self.plan.days[position]
        if claim := self.claims.due_by(day):
            self._settling_credit(position, claim)
            return
        invoice = self.creditable.pick(self.rng, day)
        customer = invoice.customer if invoice else self._customer(day)
        status = self._credit_status(self.plan.invoice_days[position])
        document = self._document(position, status, customer, day)
        if invoice is None:
            document.lines = order_lines.sales_lines(self.rng, self.run, self.catalog, customer, day)
            order_lines.deliver_all(document.lines)
        else:
            document.currency_id, document.credit_of = invoice.currency_id, invoice.order_id
            document.lines = self._credited_lines(invoice.lines)
        for line in document.lines:
            line.price = -line.price
        document.name = names.credit_title(self.rng, invoice.invoice_number if invoice else None)
        self._invoice(document, position, customer.term_days)
        self._write(document)

    def _settling_credit(self, position: int, claim: Claim) -> None:
        """A credit note for the disputed lines of an invoice, or all of a written-off one; the
        settlement is booked on the invoice as a payment on the credit note's date."""
        document = self._document(position, statuses.CREDITED, claim.customer, self.plan.days[position])
        document.currency_id, document.credit_of = claim.currency_id, claim.order_id
        document.lines = claim.credit_lines
        document.name = (
            f"{'Kundförlust' if claim.written_off else 'Reklamation'}, faktura {claim.invoice_number}"
        )
        credited = document.total_inc_vat()
        for line in document.lines:
            line.price = -line.price
        self._invoice(document, position, claim.customer.term_days)
        self._write(document)
        self._write_payments(claim.order_id, [settlement.Payment(credited, self.plan.invoice_days[position])])

    def _credit_status(self, invoice_day: int) -> int:
        roll = self.rng.random()
        if invoice_day >= self.run.today - 10 and roll < 0.3:
            return statuses.CREDIT_DRAFT
        return statuses.CREDIT_VOID if roll > 0.97 else statuses.CREDITED

    def _credited_lines(self, lines: list[Line]) -> list[Line]:
        """Some of the invoice's lines, returned in full or in part, at the invoiced price."""
        chosen = self.rng.sample(lines, self.rng.randint(1, min(3, len(lines))))
        credited = []
        for line in chosen:
            qty = line.qty if self.rng.random() < 0.6 else order_lines.part_of(self.rng, line.qty) or line.qty
            credited.append(_credit_line(line, qty))
        return credited

    # -- purchase orders ----------------------------------------------------------------

    def _purchase_order(self, position: int) -> None:
        day, today = self.plan.days[position], self.run.today
        vendor = self._vendor(day)
        lines, lead = order_lines.purchase_lines(self.rng, self.catalog.offers_by_vendor[vendor.id])
        document = self._document(position, statuses.ORDERED, vendor, day + lead + self.rng.randint(0, 5))
        document.lines = lines
        document.purchase_number = next(self.purchase_numbers)
        document.name = names.purchase_order_title(self.rng, datetime.date.fromordinal(day))
        if today - day > OLD_PURCHASE_DAYS:
            odds = OLD_PURCHASE
        else:
            odds = EXPECTED_PURCHASE if document.delivery_day < today else UPCOMING_PURCHASE
        document.status = odds.draw(self.rng)
        if document.status == statuses.PART_RECEIVED:
            order_lines.deliver_in_part(self.rng, lines)
        elif document.status == statuses.CLOSED:
            order_lines.deliver_all(lines)
        self._write(document)
        self._write_receipts(document)

    # -- parties --------------------------------------------------------------------------

    def _customer(self, day: int) -> Party:
        parties = self.parties
        return self._active_party(parties.customers, parties.customer_weights, day)

    def _vendor(self, day: int) -> Party:
        parties = self.parties
        return self._active_party(parties.vendors, parties.vendor_weights, day)

    def _active_party(self, candidates: list[Party], weights: list[float], day: int) -> Party:
        """A party by its weight; companies now inactive mostly in older documents."""
        party = pick(self.rng, candidates, weights)
        for _ in range(3):
            if not party.inactive or self.run.today - day > 365:
                break
            party = pick(self.rng, candidates, weights)
        return party

    # -- rows -----------------------------------------------------------------------------

    def _document(self, position: int, status: int, company: Party, delivery_day: int) -> Document:
        day = self.plan.days[position]
        return Document(
            self.run.id_offset + 1 + position, status, company, company.currency_id, day, delivery_day, []
        )

    def _write(self, document: Document) -> None:
        total_ex = total_inc = 0
        item_rows = self.rows[order_items]
        for line_no, line in enumerate(document.lines, start=1):
            ex_vat = line_sum_ex_vat(line.qty, line.price, line.discount)
            inc_vat = line_sum_inc_vat(ex_vat, line.vat)
            total_ex, total_inc = total_ex + ex_vat, total_inc + inc_vat
            item_id = next(self.item_ids)
            document.item_ids.append(item_id)
            item_rows.append(_item_row(item_id, document.id, line_no, line, ex_vat, inc_vat))
        self.rows[orders].append(_order_row(document, total_ex, total_inc))

    def _write_payments(self, order_id: int, received: list[settlement.Payment]) -> None:
        self.rows[payment_table].extend(
            (next(self.payment_ids), order_id, from_cents(payment.cents), datetime_of(payment.day))
            for payment in received
        )

    def _write_receipts(self, document: Document) -> None:
        rate = RATE_TO_SEK[document.currency_id]
        for item_id, line in zip(document.item_ids, document.lines, strict=True):
            if line.delivered <= 0 or line.product is None:
                continue
            unit_price = unit_price_sek(line.price, rate)
            for receipt in receipts(
                self.rng, self.catalog, line, document.delivery_day, document.day, self.run.today
            ):
                self.rows[inv_transactions].append(
                    (
                        next(self.receipt_ids),
                        item_id,
                        line.product.id,
                        receipt.location_id,
                        quantity(receipt.qty),
                        unit_price,
                        datetime_of(receipt.day),
                        receipt.booked,
                    )
                )


def _credit_line(line: Line, qty: int | None = None) -> Line:
    """A credit line for ``qty`` (default: all) of an invoice line, at the invoiced price."""
    qty = line.qty if qty is None else qty
    return Line(line.product, line.description, None, qty, qty, line.price, line.discount, line.vat)


def _sales_order_odds(age_days: int) -> Odds[int]:
    if age_days <= RECENT_DAYS:
        return RECENT_SALES_ORDER
    return OLDER_SALES_ORDER if age_days <= OLD_DAYS else OLD_SALES_ORDER


def _order_row(document: Document, total_ex_vat: int, total_inc_vat: int) -> Row:
    return (
        document.id,
        document.status,
        document.company.id,
        document.name,
        document.purchase_number,
        document.invoice_number,
        datetime_of(document.day),
        datetime_of(document.delivery_day),
        datetime_or_none(document.invoice_day),
        datetime_or_none(document.due_day),
        document.currency_id,
        from_cents(total_ex_vat),
        from_cents(total_inc_vat - total_ex_vat),
        from_cents(total_inc_vat),
        document.credit_of,
        0,  # set from the payments once they are loaded (tools.balances.install)
    )


def _item_row(item_id: int, order_id: int, line_no: int, line: Line, ex_vat: int, inc_vat: int) -> Row:
    return (
        item_id,
        order_id,
        line_no,
        line.product.id if line.product else None,
        line.description,
        line.vendor_sku,
        quantity(line.qty),
        quantity(line.delivered),
        from_cents(line.price),
        discount_percent(line.discount),
        vat_rate(line.vat),
        from_cents(ex_vat),
        from_cents(inc_vat),
    )
