"""Search finds what a person types: several words in any order, case ignored, diacritics
optional when none are typed; through both doors, on SQLite and PostgreSQL.

The oracle reads the raw ``Product``, ``Orders`` and ``Company`` rows (never the search tables)
and applies the documented rule itself."""

from __future__ import annotations

import json
import re
import unicodedata
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path

import httpx
import pytest
import sqlalchemy as sa
from mcp.client.session import ClientSession

from connectors.core.rows import upsert
from demo.tenants import seed_database
from mcp_server.cli import main
from tests.support import TODAY, LiveServer, postgres_database, postgres_reachable, require_service, walk
from tests.test_purchase_orders import expected_purchase_order, purchase_orders
from tests.test_sales_orders import Document, expected_sales_order, order_book
from tools import schema as s
from tools import search

# -- the oracle -------------------------------------------------------------------------------


def without_marks(text: str) -> str:
    return "".join(ch for ch in unicodedata.normalize("NFD", text) if unicodedata.category(ch) != "Mn")


def has_word(text: str, word: str) -> bool:
    """A word typed without diacritics matches with or without them; with them, as typed."""
    typed, text = word.lower(), text.lower()
    if without_marks(typed) == typed:
        return typed in without_marks(text)
    return typed in text


def has_words(text: str, q: str) -> bool:
    return all(has_word(text, word) for word in q.split())


def product_rank(number: str, description: str, barcode: str | None, q: str) -> int | None:
    text = f"{number} {description}"
    if number.lower() == q.lower():
        return 0
    if number.lower().startswith(q.lower()):
        return 1
    if q.lower() in number.lower():
        return 2
    if barcode == q or all(word.lower() in text.lower() for word in q.split()):
        return 3
    return 4 if has_words(text, q) else None


def expected_products(server: LiveServer, q: str, limit: int) -> list[int]:
    p = s.products
    with sa.create_engine(server.settings.tenants["demo"]).connect() as conn:
        rows = conn.execute(sa.select(p.c.Id, p.c.ProductNumber, p.c.Description, p.c.Barcode)).all()
    ranked = [
        (rank, number, product_id)
        for product_id, number, description, barcode in rows
        if (rank := product_rank(number, description, barcode, q)) is not None
    ]
    return [product_id for _, _, product_id in sorted(ranked)[:limit]]


def document_text(d: Document) -> str:
    return f"{d.name or ''} {d.company_name}"


# -- products ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "q", ["horselskydd", "HÖRSELSKYDD", "kabel 3G1,5", "3g1,5 KABEL ekk", "skyddsglasogon"]
)
async def test_products_are_found_by_words_in_any_order_without_their_diacritics(
    server: LiveServer, rest: httpx.AsyncClient, q: str
) -> None:
    expected = expected_products(server, q, 20)
    assert expected, f"the demo catalog has products for {q!r}"
    rows = (await rest.get("/products/find", params={"q": q, "limit": 20})).raise_for_status().json()
    assert [row["productId"] for row in rows] == expected


async def test_a_product_with_the_typed_diacritics_ranks_before_one_found_only_without_them(
    server: LiveServer, rest: httpx.AsyncClient
) -> None:
    rows = (await rest.get("/products/find", params={"q": "sa", "limit": 20})).json()
    assert [row["productId"] for row in rows] == expected_products(server, "sa", 20)
    ranks = [product_rank(r["productNumber"], r["description"], r["barcode"], "sa") for r in rows]
    assert {3, 4} <= set(ranks), "the catalog has 'sa' as typed and as in 'sågklinga'"


# -- documents --------------------------------------------------------------------------------


def _project_order(server: LiveServer) -> Document:
    projects = [d for d in order_book(server) if (d.name or "").startswith("Projekt ")]
    return next(d for d in projects if without_marks(d.name or "") != d.name)


def _sales_order_queries(server: LiveServer) -> dict[str, str]:
    d = _project_order(server)
    street = (d.name or "").split()[1]
    party = max(d.company_name.split(), key=len)
    return {
        "street without diacritics": without_marks(street).lower(),
        "party then name": f"{party.upper()} {without_marks(street)} projekt",
        "number in name": f"{(d.name or '').split()[-1]} PROJEKT",
    }


@pytest.mark.parametrize("case", ["street without diacritics", "party then name", "number in name"])
async def test_sales_orders_are_found_by_words_of_their_name_and_party_in_any_order(
    server: LiveServer, rest: httpx.AsyncClient, case: str
) -> None:
    q = _sales_order_queries(server)[case]
    expected = [d for d in order_book(server) if has_words(document_text(d), q)]
    assert expected, f"the demo data has orders for {q!r}"
    rows = await walk(rest, "/sales-orders", q=q, pageSize=100)
    assert rows == [expected_sales_order(d) for d in expected]


async def test_purchase_orders_are_found_without_their_diacritics(
    server: LiveServer, rest: httpx.AsyncClient
) -> None:
    q = "malmo pafyllning"
    expected = [d for d in purchase_orders(server) if has_words(document_text(d), q)]
    assert expected, "the demo data has refills of the Malmö warehouse"
    rows = await walk(rest, "/purchase-orders", q=q, pageSize=100)
    assert rows == [expected_purchase_order(d) for d in expected]


async def test_mcp_finds_the_same_documents_and_products_as_rest(
    server: LiveServer, rest: httpx.AsyncClient, mcp: ClientSession
) -> None:
    q = _sales_order_queries(server)["party then name"]
    for tool, path, arguments in [
        ("list_sales_orders", "/sales-orders", {"q": q}),
        ("find_products", "/products/find", {"q": "horselskydd"}),
    ]:
        result = await mcp.call_tool(tool, arguments)
        assert not result.is_error
        body = (await rest.get(path, params=arguments)).json()
        assert json.loads(result.content[0].text) == body  # type: ignore[union-attr]


# -- the query layer: both ways of matching documents, and the writers -------------------------


def matched_ids(engine: sa.Engine, q: str, few: int) -> set[int]:
    o = s.orders
    with engine.connect() as conn:
        return set(conn.scalars(sa.select(o.c.Id).where(search.documents_matching(conn, q, o.c.Id, few=few))))


def raw_documents(engine: sa.Engine) -> dict[int, str]:
    o, c = s.orders, s.companies
    stmt = sa.select(o.c.Id, o.c.Name, c.c.Name).join(c, c.c.Id == o.c.CompanyId)
    with engine.connect() as conn:
        return {order_id: f"{name or ''} {party}" for order_id, name, party in conn.execute(stmt)}


@pytest.mark.parametrize(
    "q",
    [
        "webshop",
        "göteborg påfyllning",
        "ab",
        "%",
        "kv. eken",
        # What FTS5 would read as its query syntax is text like any other here.
        'projekt" OR "webshop',
        "projekt AND NOT webshop",
        "plain : projekt",
        "NEAR(projekt webshop)",
        "proj* ^webshop",
        # More words than the index is asked to count trigrams for (``search.SAMPLED``).
        " ".join(f"ordinance{i:02d}" for i in range(60)),
        "webshop " + " ".join(f"w{i:02d}" for i in range(60)),
    ],
)
def test_many_matches_checked_row_by_row_are_the_same_documents_as_few_taken_from_the_index(
    backend: str, request: pytest.FixtureRequest, q: str
) -> None:
    engine = sa.create_engine(request.getfixturevalue(f"{backend}_tenants")["demo"])
    expected = {order_id for order_id, text in raw_documents(engine).items() if has_words(text, q)}
    assert matched_ids(engine, q, few=len(expected) + 1) == expected
    assert matched_ids(engine, q, few=0) == expected


def test_a_renamed_company_and_its_documents_are_found_by_the_new_name_once_indexed(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'renamed.db'}"
    seed_database(url, seed=5, orders=60, today=TODAY, draft_lines=20)
    engine = sa.create_engine(url)
    c, o = s.companies, s.orders
    with engine.begin() as conn:
        company_id = conn.scalar(sa.select(o.c.CompanyId).limit(1))
        conn.execute(c.update().where(c.c.Id == company_id).values(Name="Ångström Elektriska AB"))
        search.index_companies(conn, [company_id])
        search.index_orders(conn, conn.scalars(sa.select(o.c.Id).where(o.c.CompanyId == company_id)))
    with engine.connect() as conn:
        assert set(conn.scalars(search.companies_matching(conn, "angstrom elektriska"))) == {company_id}
    renamed = {order_id for order_id, text in raw_documents(engine).items() if "Ångström" in text}
    assert renamed and matched_ids(engine, "ANGSTROM", few=100) == renamed


def test_a_database_written_before_search_existed_is_made_searchable_by_index_search(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'old.db'}"
    seed_database(url, seed=6, orders=60, today=TODAY, draft_lines=20)
    engine = sa.create_engine(url)
    with engine.begin() as conn:
        for name in ("OrderSearch", "ProductSearch", "CompanySearch"):
            conn.exec_driver_sql(f'DROP TABLE "{name}Index"')
            conn.exec_driver_sql(f'DROP TABLE "{name}"')
    main(["index-search", "--database-url", url])
    expected = {order_id for order_id, text in raw_documents(engine).items() if has_words(text, "webshop")}
    assert expected and matched_ids(engine, "webshop", few=100) == expected


def test_rows_a_connector_upserts_are_searchable_and_a_renamed_party_moves_its_documents(
    tmp_path: Path,
) -> None:
    url = f"sqlite:///{tmp_path / 'synced.db'}"
    seed_database(url, seed=7, orders=60, today=TODAY, draft_lines=20)
    engine = sa.create_engine(url)
    c, o = s.companies, s.orders
    with engine.begin() as conn:
        company = dict(
            conn.execute(sa.select(c).where(c.c.Id.in_(sa.select(o.c.CompanyId)))).mappings().first() or {}
        )
        upsert(conn, c, [company | {"Name": "Ödegaard Rör AB"}])
    renamed = {order_id for order_id, text in raw_documents(engine).items() if "Ödegaard" in text}
    assert renamed and matched_ids(engine, "odegaard ror", few=100) == renamed
    with engine.connect() as conn:
        assert list(conn.scalars(search.companies_matching(conn, "ÖDEGAARD"))) == [company["Id"]]


# -- words of two letters ---------------------------------------------------------------------

PAIR_NAMES = {"company": ["52", "Bygg 52", "Östra Rör"], "order": ["Kungsgatan 52", "Artikel 1520", "ös"]}
PAIR_QUERIES = ["52", "kungsgatan 52", "bygg 52", "20", "ös", "OS", "ös 52", "qz", "52 qz", "e5", "ab"]


@pytest.fixture
def pair_tenant(backend: str, tmp_path: Path) -> Iterator[sa.Engine]:
    """A small tenant whose texts hold two-letter words at every place: alone (a company named
    ``52``), at the end (``Bygg 52``, and every document of that party), followed by a space
    (``Kungsgatan 52 ...``), inside a word (``1520``), and with diacritics (``ös``, ``Östra``).
    On PostgreSQL, analyzed after the renames (as autovacuum would), so that the statistics
    of its pairs are there."""
    with ExitStack() as stack:
        if backend == "postgres":
            require_service("PostgreSQL (127.0.0.1:5432)", postgres_reachable())
            url = stack.enter_context(postgres_database("pairs"))
        else:
            url = f"sqlite:///{tmp_path / 'pairs.db'}"
        engine = _renamed_for_pairs(url)
        if backend == "postgres":
            with engine.begin() as conn:
                for table in search.SEARCH_TABLES:
                    conn.exec_driver_sql(f'ANALYZE "{table.name}"')
        yield engine
        engine.dispose()


def _renamed_for_pairs(url: str) -> sa.Engine:
    seed_database(url, seed=8, orders=80, today=TODAY, draft_lines=20)
    engine = sa.create_engine(url)
    c, o = s.companies, s.orders
    with engine.begin() as conn:
        parties = conn.scalars(sa.select(o.c.CompanyId).distinct().order_by(o.c.CompanyId).limit(3)).all()
        for company_id, name in zip(parties, PAIR_NAMES["company"], strict=True):
            company = conn.execute(sa.select(c).where(c.c.Id == company_id)).mappings().one()
            upsert(conn, c, [dict(company) | {"Name": name}])
        others = conn.scalars(sa.select(o.c.Id).where(o.c.CompanyId.not_in(parties)).limit(3)).all()
        for order_id, name in zip(others, PAIR_NAMES["order"], strict=True):
            order = conn.execute(sa.select(o).where(o.c.Id == order_id)).mappings().one()
            upsert(conn, o, [dict(order) | {"Name": name}])
    return engine


def test_a_word_of_two_letters_is_found_alone_at_the_end_before_a_space_and_inside_a_word(
    pair_tenant: sa.Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    engine = pair_tenant
    documents = raw_documents(engine)
    with engine.connect() as conn:
        companies = {row[0]: row[1] for row in conn.execute(sa.select(s.companies.c.Id, s.companies.c.Name))}
    found: dict[str, tuple[set[int], set[int]]] = {}
    for q in PAIR_QUERIES:
        expected = {order_id for order_id, text in documents.items() if has_words(text, q)}
        named = {company_id for company_id, name in companies.items() if has_words(name, q)}
        assert matched_ids(engine, q, few=len(expected) + 1) == expected, q
        assert matched_ids(engine, q, few=0) == expected, q
        with engine.connect() as conn:
            assert set(conn.scalars(search.companies_matching(conn, q))) == named, q
        found[q] = expected, named
    assert all(found[q][0] for q in ("52", "kungsgatan 52", "bygg 52", "20", "ös")), "every place is covered"
    alone_and_at_the_end = {company_id for company_id, name in companies.items() if name in ("52", "Bygg 52")}
    assert len(alone_and_at_the_end) == 2 and alone_and_at_the_end <= found["52"][1]
    assert not found["qz"][0] and not found["52 qz"][0]
    # Looked up even where the other words leave few rows (this tenant is small), and checked
    # on the rows past the limit of texts ending with the word (SQLite); looked up however
    # common, and checked on the rows however rare (PostgreSQL): the same answers.
    settings = {
        "sqlite": (("FEW_LEFT", -1), ("ENDINGS", 0)),
        "postgres": (("COMMON_GRAM", 1.0), ("COMMON_GRAM", -1)),
    }
    for setting, value in settings[engine.dialect.name.replace("postgresql", "postgres")]:
        monkeypatch.setattr(search, setting, value)
        for q, (expected, named) in found.items():
            assert matched_ids(engine, q, few=len(expected) + 1) == expected, (setting, q)
            with engine.connect() as conn:
                assert set(conn.scalars(search.companies_matching(conn, q))) == named, (setting, q)


def test_a_word_of_two_letters_is_looked_up_in_the_index_not_checked_on_every_row(
    pair_tenant: sa.Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    engine = pair_tenant
    if engine.dialect.name == "postgresql":
        assert_pairs_found_by_the_index_on_postgres(engine, monkeypatch)
        return
    with engine.connect() as conn:
        for q in ("52", "ös 52"):
            statement = search.matching_ids(conn, search.order_search, q).compile(
                conn, compile_kwargs={"literal_binds": True}
            )
            plan = " | ".join(row[-1] for row in conn.exec_driver_sql(f"EXPLAIN QUERY PLAN {statement}"))
            assert "SCAN OrderSearch " not in plan + " " and "OrderSearchIndex" in plan, plan


def assert_pairs_found_by_the_index_on_postgres(engine: sa.Engine, monkeypatch: pytest.MonkeyPatch) -> None:
    """A rare pair (``52``: in 9 % of this tenant's documents, under a bound of 10 %) is looked
    up in the index of grams, alone and beside other words; a common one (``ab``, 42 %) is
    checked on the rows, not read from the index. (Sequential scans are off: on a table this
    small the planner would read the rows whatever the index offers.)"""
    documents = [without_marks(text.lower()) for text in raw_documents(engine).values()]
    share = {pair: sum(pair in text for text in documents) / len(documents) for pair in ("52", "ab")}
    monkeypatch.setattr(search, "COMMON_GRAM", 0.1)
    assert share["52"] <= search.COMMON_GRAM < share["ab"], share
    with engine.connect() as conn:
        conn.exec_driver_sql("SET enable_seqscan = off")
        for q in ("52", "kungsgatan 52", "ab"):
            statement = search.matching_ids(conn, search.order_search, q).compile(
                conn, compile_kwargs={"literal_binds": True}
            )
            plan = " | ".join(row[0] for row in conn.exec_driver_sql(f"EXPLAIN {statement}"))
            index_condition = next((line for line in plan.split(" | ") if "Index Cond" in line), "")
            found = re.search(r"asstio_grams\(\"Plain\"\) @> '\{(.*?)\}'", index_condition)
            grams = set(found.group(1).split(",")) if found else set()
            assert ("52" in grams) is ("52" in q) and "ab" not in grams, (q, plan)
            if "kungsgatan" in q:  # one of its trigrams: the rarest, by the statistics
                assert len(grams & set(search.trigrams("kungsgatan"))) == 1, (q, plan)


def test_on_postgres_a_page_of_few_matches_is_one_statement_text_whatever_their_number(
    postgres_tenants: dict[str, str],
) -> None:
    """The matched ids are one array parameter, so PostgreSQL plans the page once (its prepared
    statement) instead of once per count of ids; the page still holds exactly the matches."""
    engine = sa.create_engine(postgres_tenants["demo"])
    o, sent, documents = s.orders, [], raw_documents(engine)
    counts = []
    for q in ("webshop", "projekt"):
        expected = {order_id for order_id, text in documents.items() if has_words(text, q)}
        with engine.connect() as conn:
            statement = sa.select(o.c.Id).where(
                search.documents_matching(conn, q, o.c.Id, few=len(expected) + 1)
            )
            sa.event.listen(conn, "before_cursor_execute", lambda *args: sent.append(args[2]))
            assert set(conn.scalars(statement)) == expected, q
        counts.append(len(expected))
    engine.dispose()
    assert len(set(counts)) == 2 and min(counts) > 1, counts
    assert len(sent) == 2 and sent[0] == sent[1], sent


def test_a_repeated_search_asks_the_sqlite_index_for_the_matches_alone(
    sqlite_tenants: dict[str, str],
) -> None:
    """The trigram counts of the sample that choose what the index is asked for are kept per
    connection: the same words again cost one lookup, not the sample's counts, and find the
    same documents."""
    engine = sa.create_engine(sqlite_tenants["demo"])
    q = "webshop"
    expected = {order_id for order_id, text in raw_documents(engine).items() if has_words(text, q)}
    sent: list[str] = []
    with engine.connect() as conn:
        sa.event.listen(conn, "before_cursor_execute", lambda *args: sent.append(args[2]))
        found = []
        for _ in range(2):
            sent.clear()
            found.append(set(conn.scalars(search.matching_ids(conn, search.order_search, q))))
            sampled = [statement for statement in sent if "count(*)" in statement]
            found.append(bool(sampled))
    engine.dispose()
    assert expected and found == [expected, True, expected, False]


def test_a_postgres_database_made_before_the_index_of_grams_is_searched_and_then_upgraded() -> None:
    """A database of an earlier version (no ``asstio_grams``, no index of it) answers searches
    by checking its rows, and ``index-search`` gives it the index: the same documents before
    and after."""
    require_service("PostgreSQL (127.0.0.1:5432)", postgres_reachable())
    with postgres_database("old_search") as url:
        seed_database(url, seed=6, orders=60, today=TODAY, draft_lines=20)
        engine = sa.create_engine(url)
        with engine.begin() as conn:
            for table in search.SEARCH_TABLES:
                conn.exec_driver_sql(f'DROP INDEX "ix_{table.name.lower()}_grams"')
            conn.exec_driver_sql("DROP FUNCTION asstio_grams(text)")
        q = "webshop"
        expected = {order_id for order_id, text in raw_documents(engine).items() if has_words(text, q)}
        assert expected and matched_ids(engine, q, few=100) == expected
        main(["index-search", "--database-url", url])
        engine.dispose()  # new connections: the statistics are read per connection
        with engine.connect() as conn:
            assert conn.exec_driver_sql("SELECT to_regclass('ix_ordersearch_grams')").scalar() is not None
        assert matched_ids(engine, q, few=100) == expected
        engine.dispose()
