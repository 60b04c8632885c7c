"""Paging is declared once on the view: what the tool says about page sizes is what it does."""

from __future__ import annotations

import inspect
import re

import httpx
import pytest

from tools.paging import Page, PagedParams, Paging
from tools.view import View, registered_views
from tools.wire import Params

PAGED = [view for view in registered_views() if view.paging is not None]
REQUIRED = {"vendor-prices": {"productId": 1}}


def stated_maximum(text: str) -> int:
    found = {int(n) for n in re.findall(r"max (\d+)", text)}
    assert len(found) == 1, f"one maximum page size is stated, not {found}: {text}"
    return found.pop()


@pytest.mark.parametrize("view", PAGED, ids=lambda view: view.name)
async def test_a_page_size_above_the_stated_maximum_is_clamped_to_it(
    rest: httpx.AsyncClient, view: View
) -> None:
    schema = view.params.model_json_schema(by_alias=True)["properties"]["pageSize"]
    maximum = stated_maximum(view.description)
    assert stated_maximum(schema["description"]) == maximum
    arguments = {**REQUIRED.get(view.name, {}), "pageSize": maximum + 1}
    if view.method == "POST":
        response = await rest.post(view.path.lstrip("/"), json=arguments)
    else:
        response = await rest.get(view.path.lstrip("/"), params=arguments)
    assert response.status_code == 200, response.text
    assert response.json()["pageSizeApplied"] == maximum


def test_a_view_that_declares_paging_without_paged_params_fails_at_declaration() -> None:
    class Unpaged(Params):
        q: str | None = None

    with pytest.raises(ValueError, match="PagedParams"):
        View(
            name="unpaged",
            tool="list_unpaged",
            method="GET",
            path="/unpaged",
            params=Unpaged,
            result=Page[int],
            query=lambda conn, ctx, params: Page[int](
                items=[], next_cursor=None, page_size_applied=0, truncated=False
            ),
            title="Unpaged",
            description="Declares paging its params cannot carry.",
            paging=Paging(default=10, maximum=20),
        )


@pytest.mark.parametrize("view", PAGED, ids=lambda view: view.name)
def test_a_paged_view_leaves_cursor_and_page_size_to_its_paging(view: View) -> None:
    """Only PagedParams declares them (and the view's Paging completes pageSize): a view's own
    params class that declared them again would state its page sizes a second time."""
    declared_again = [
        (cls.__name__, name)
        for cls in view.params.__mro__[1:]  # [0] is the model its Paging completed
        if cls is not PagedParams and issubclass(cls, PagedParams)
        for name in ("cursor", "page_size")
        if name in inspect.get_annotations(cls)
    ]
    assert declared_again == []
