"""The reference statuses the generator puts documents in, looked up by type and Swedish name."""

from __future__ import annotations

from tools.reference import PURCHASEORDER, SALESCREDIT, SALESINVOICE, SALESORDER, STATUS_TYPES, STATUSES

_IDS = {(STATUS_TYPES[status.type_id][0], status.name): status.id for status in STATUSES}

QUOTE = _IDS[SALESORDER, "Offert"]
PRELIMINARY_ORDER = _IDS[SALESORDER, "Preliminär"]
CONFIRMED = _IDS[SALESORDER, "Bekräftad"]
PART_DELIVERED = _IDS[SALESORDER, "Dellevererad"]
CANCELLED_ORDER = _IDS[SALESORDER, "Makulerad"]

INVOICE_PREVIEW = _IDS[SALESINVOICE, "Förhandsgranskning"]
INVOICE_SENT = _IDS[SALESINVOICE, "Skickad"]
REMINDER_SENT = _IDS[SALESINVOICE, "Påminnelse skickad"]
INVOICE_VOID = _IDS[SALESINVOICE, "Makulerad"]

CREDIT_DRAFT = _IDS[SALESCREDIT, "Kreditutkast"]
CREDITED = _IDS[SALESCREDIT, "Krediterad"]
CREDIT_VOID = _IDS[SALESCREDIT, "Makulerad"]

PRELIMINARY_PURCHASE = _IDS[PURCHASEORDER, "Preliminär"]
ORDERED = _IDS[PURCHASEORDER, "Beställd"]
PART_RECEIVED = _IDS[PURCHASEORDER, "Dellevererad"]
CLOSED = _IDS[PURCHASEORDER, "Avslutad"]
CANCELLED_PURCHASE = _IDS[PURCHASEORDER, "Makulerad"]
