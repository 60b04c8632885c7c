"""What the MCP door tells a model beyond the tool list: a short guide to the common questions
(appended to the server's instructions) and the common workflows as MCP prompts, which clients
such as Claude Desktop offer to the user."""

from __future__ import annotations

from mcp.server.mcpserver.prompts.base import Prompt

GUIDE = """Common questions and the tool that answers each in one call:
- How to read the figures (today, home currency, rates, statuses, warehouses): get_company_profile.
- Sales, order intake or purchases per day/week/month/quarter/year, against the previous period
  or last year, top customers/vendors/products by value or quantity: summarize. Never add up
  pages of invoices or orders yourself.
- Who owes what, overdue and aging buckets, a customer's open amount and credit headroom:
  get_receivables (overdueMin, customerId). list_customers also shows what each customer owes.
- Individual documents: list_sales_invoices, list_sales_orders, list_purchase_orders (openToInvoiceMin
  for goods received but not invoiced), list_open_order_lines.
- Stock: find_products for the id, then list_warehouse_stock. Vendor prices: list_vendor_prices.
- Supplier invoices to match: list_purchase_invoice_drafts, then suggest_invoice_matches.
Amounts named *Home are in the home currency; others carry currencyIsoCode."""


def month_end_review(month: str = "") -> str:
    which = f"the month {month} (YYYY-MM)" if month else "last month"
    return (
        f"Prepare a month-end review of {which} for the finance team.\n"
        "1. get_company_profile: today's date and the home currency (state every amount in it).\n"
        "2. summarize measure=sales, period=month, from/to = the month's first and last day, "
        "compareTo=previousPeriod, groupBy=customer, top=5: sales against the month before and "
        "the five biggest customers. Then the same with measure=orderIntake, and with "
        "measure=purchases and groupBy=vendor.\n"
        "3. get_receivables limit=10: receivables by age and the ten most overdue customers.\n"
        "Report in short paragraphs: sales and change, order intake, purchases, receivables and "
        "who to chase. Quote amounts exactly as the tools give them."
    )


def overdue_follow_up(min_overdue: str = "") -> str:
    floor = f" with at least {min_overdue} overdue (overdueMin={min_overdue})" if min_overdue else ""
    return (
        f"List the customers to chase for payment{floor}.\n"
        "1. get_receivables (overdueMin if given, limit up to 100): per customer the overdue "
        "amount in the home currency and its aging buckets, most overdue first.\n"
        "2. For the customers you propose to call first, list_sales_invoices customerId=<id> "
        "gives their invoices (isLate, dateDue, openAmount).\n"
        "Suggest an order of follow-up: most over 90 days first, then the largest amounts, and "
        "flag customers past their credit limit (creditHeadroomHome below zero)."
    )


def match_this_invoice(invoice: str) -> str:
    return (
        f"Match the supplier invoice {invoice} against goods receipts.\n"
        "1. list_purchase_invoice_drafts with q or vendorName to find the draft and its invoiceId "
        "(skip when you were given the id).\n"
        "2. suggest_invoice_matches invoiceId=<id>: per invoice line the candidate receipts, "
        "score, variances and isAutoEligible.\n"
        "Present the lines that are auto-eligible as ready to confirm, and for the others the "
        "best candidate with the variance that keeps it from being automatic. Confirming is done "
        "by a person in the ERP or through the REST API; you cannot confirm."
    )


def workflow_prompts() -> list[Prompt]:
    return [
        Prompt.from_function(
            month_end_review,
            name="month_end_review",
            title="Month-end review",
            description="Sales, order intake, purchases and receivables of a month, against the month before",
        ),
        Prompt.from_function(
            overdue_follow_up,
            name="overdue_follow_up",
            title="Overdue follow-up",
            description="Which customers to chase for payment, most overdue first",
        ),
        Prompt.from_function(
            match_this_invoice,
            name="match_this_invoice",
            title="Match this supplier invoice",
            description="Find a supplier-invoice draft and the goods receipts it pays for",
        ),
    ]
