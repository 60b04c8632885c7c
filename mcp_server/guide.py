"""What the MCP door tells a model beyond the tool list: a short guide to the common questions
(appended to the server's instructions) and the common workflows as MCP prompts, which clients
such as Claude Desktop offer to the user. The prompts are plain data with two protocol handlers
(``prompts/list``, ``prompts/get``), so any server object can serve them."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from mcp.shared.exceptions import MCPError
from mcp_types import (
    INVALID_PARAMS,
    GetPromptRequestParams,
    GetPromptResult,
    ListPromptsResult,
    PaginatedRequestParams,
    Prompt,
    PromptArgument,
    PromptMessage,
    TextContent,
)

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


@dataclass(frozen=True)
class Workflow:
    name: str
    title: str
    description: str
    render: Callable[..., str]
    arguments: tuple[PromptArgument, ...] = ()

    def prompt(self) -> Prompt:
        return Prompt(
            name=self.name, title=self.title, description=self.description, arguments=list(self.arguments)
        )

    def rendered(self, arguments: dict[str, str]) -> GetPromptResult:
        known = {a.name for a in self.arguments}
        if unknown := sorted(set(arguments) - known):
            raise MCPError(
                INVALID_PARAMS,
                f"Prompt {self.name!r} has no argument {unknown[0]!r}; it takes {sorted(known)}",
            )
        if missing := [a.name for a in self.arguments if a.required and a.name not in arguments]:
            raise MCPError(INVALID_PARAMS, f"Prompt {self.name!r} needs the argument {missing[0]!r}")
        text = self.render(**{_python(k): v for k, v in arguments.items()})
        message = PromptMessage(role="user", content=TextContent(type="text", text=text))
        return GetPromptResult(description=self.description, messages=[message])


def _python(name: str) -> str:
    return "".join(f"_{c.lower()}" if c.isupper() else c for c in name)


WORKFLOWS = (
    Workflow(
        "month_end_review",
        "Month-end review",
        "Sales, order intake, purchases and receivables of a month, against the month before",
        month_end_review,
        (PromptArgument(name="month", description="YYYY-MM; default last month", required=False),),
    ),
    Workflow(
        "overdue_follow_up",
        "Overdue follow-up",
        "Which customers to chase for payment, most overdue first",
        overdue_follow_up,
        (
            PromptArgument(
                name="minOverdue", description="Only customers with at least this overdue", required=False
            ),
        ),
    ),
    Workflow(
        "match_this_invoice",
        "Match this supplier invoice",
        "Find a supplier-invoice draft and the goods receipts it pays for",
        match_this_invoice,
        (
            PromptArgument(
                name="invoice", description="The supplier's invoice number or the draft id", required=True
            ),
        ),
    ),
)
_BY_NAME = {workflow.name: workflow for workflow in WORKFLOWS}


async def list_prompts(ctx: Any, params: PaginatedRequestParams | None) -> ListPromptsResult:
    """``prompts/list`` for a low-level server (``on_list_prompts``)."""
    return ListPromptsResult(prompts=[workflow.prompt() for workflow in WORKFLOWS])


async def get_prompt(ctx: Any, params: GetPromptRequestParams) -> GetPromptResult:
    """``prompts/get`` for a low-level server (``on_get_prompt``); an unknown prompt or argument
    is an invalid-params error naming it."""
    workflow = _BY_NAME.get(params.name)
    if workflow is None:
        raise MCPError(INVALID_PARAMS, f"Unknown prompt {params.name!r}; prompts: {sorted(_BY_NAME)}")
    return workflow.rendered(params.arguments or {})
