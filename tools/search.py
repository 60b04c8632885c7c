"""Search that finds what a person types: several words in any order, case ignored for all of
Unicode, diacritics ignored where the person typed none.

The rule, per word of ``q`` (split on white space): a word typed without diacritics matches
with or without them (``horselskydd`` finds ``Hörselskydd``); a word typed with them matches
them as typed, case ignored (``Å`` finds ``Åke`` and ``åke``, not ``Anna``). Every word must
occur somewhere in the row's search text; ``%``, ``_`` and ``\\`` are literal.

The text is folded once when it is written (``fold``, into the tables of
``tools.search_tables``) and searched through an index of its trigrams: FTS5 with the
``trigram`` tokenizer on SQLite, a GIN index of each text's pairs and trigrams of characters on
PostgreSQL. The database evaluates everything itself; no Python function runs per row.
Whoever writes ``Company``, ``Product`` or ``Orders`` calls ``index_companies`` /
``index_products`` / ``index_orders`` with the ids it wrote (a company's rename also changes
its documents' text: index those too); ``reindex`` rebuilds them all.
"""

from __future__ import annotations

import time
import unicodedata
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar, cast

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import ARRAY

from tools import schema as s
from tools.search_tables import SEARCH_TABLES, company_search, order_search, product_search

# Letters that carry their mark inside the letter, so Unicode decomposition keeps them.
_UNMARKED = str.maketrans(
    {"ø": "o", "æ": "ae", "œ": "oe", "ß": "ss", "ł": "l", "đ": "d", "ð": "d", "þ": "th"}
)
WRITE_CHUNK = 1000
# Above this many matching documents a page walks its sort order and checks each row;
# at or below it the page is built from the matching ids (found through the trigram index).
FEW_DOCUMENTS = 2000
# The sample that picks each word's rarest trigram: the rows of the lowest 1/SAMPLE of the keys.
SAMPLE = 64
SAMPLED_PER_WORD, SAMPLED = 12, 48
# A word's trigram is looked up in the index only when it is in at most this many times the
# sample rows of the rarest word's; a commoner word is checked on the rows the others find.
DRIVING = 4
# A word of two characters has no trigram of its own (``52`` in ``Kungsgatan 52``). It is found
# through the index all the same, wherever it is followed by a character (every trigram that
# starts with it, read from the index's vocabulary: ``52 ``, ``520``...) or ends the text (an
# index on each text's last two characters). Past these many such trigrams, or texts that end
# with it, it is checked on the rows the other words find, as a one-letter word is.
CONTINUATIONS = 256
ENDINGS = 2000
PAIR = 2
GRAMS = ARRAY(sa.Text)
# PostgreSQL: a word's rarest gram (of its pairs and trigrams of characters) is looked up in the
# index when the table's statistics show it in at most this share of the rows; a word with no
# rarer gram (``er``, ``projekt`` beside ``kungsgatan``) is checked on the rows the others find.
COMMON_GRAM = 0.05
# How long a connection keeps what it read of its table's statistics (PostgreSQL's grams) or
# counted in its sample (SQLite's trigrams), and how many sampled trigrams at most.
STATISTICS_SECONDS = 300.0
SAMPLED_KEPT = 10_000
# Rows (estimated from the sample) the other words may leave for a two-letter word to be
# checked on them rather than looked up.
FEW_LEFT = 2000


T = TypeVar("T")
# A statement of keys: one select, or the union of two.
Ids = sa.Select[tuple[int]] | sa.CompoundSelect[tuple[int]]


def fold(text: str) -> tuple[str, str]:
    """``text`` lower-cased (``Lower``) and, from that, without diacritics (``Plain``)."""
    lower = text.lower()
    return lower, strip_diacritics(lower)


def strip_diacritics(lower: str) -> str:
    decomposed = unicodedata.normalize("NFKD", lower.translate(_UNMARKED))
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


# -- matching -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Word:
    lower: str
    plain: str

    @property
    def has_diacritics(self) -> bool:
        return self.lower != self.plain


def words(q: str) -> list[Word]:
    """The words of ``q``; white space alone is one word of itself (it is what was typed)."""
    return [Word(*fold(word)) for word in q.split() or [q]]


def contains_pattern(text: str, dialect: str) -> str:
    """A pattern for "contains ``text``" with every character literal: GLOB on SQLite (the
    only form FTS5 serves from its trigram index), LIKE with ``\\`` as escape elsewhere."""
    if dialect == "sqlite":
        return "*" + "".join(f"[{ch}]" if ch in "*?[" else ch for ch in text) + "*"
    return "%" + text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"


def contains(column: sa.ColumnElement[Any], text: str, dialect: str) -> sa.ColumnElement[bool]:
    """``column`` (folded text) contains ``text`` (folded the same way)."""
    pattern = contains_pattern(text, dialect)
    if dialect == "sqlite":
        return column.op("GLOB")(pattern)
    return column.like(pattern, escape="\\")


def has_words(columns: Any, q: str | Sequence[Word], dialect: str) -> list[sa.ColumnElement[bool]]:
    """Each word of ``q`` is in the text: always by ``Plain`` (which the index serves), and by
    ``Lower`` too when the word was typed with diacritics."""
    where = []
    for word in words(q) if isinstance(q, str) else q:
        where.append(contains(columns.Plain, word.plain, dialect))
        if word.has_diacritics:
            where.append(contains(columns.Lower, word.lower, dialect))
    return where


def has_lower_words(columns: Any, q: str, dialect: str) -> sa.ColumnElement[bool]:
    """Each word of ``q`` is in the text as typed, case ignored (diacritics not)."""
    return sa.and_(*(contains(columns.Lower, word.lower, dialect) for word in words(q)))


def matching_ids(conn: sa.Connection, table: sa.Table, q: str) -> Ids:
    """The ids of ``table``'s rows whose text has every word of ``q``, found through the index."""
    dialect, key = conn.dialect.name, _key(table)
    if dialect != "sqlite":
        return sa.select(key).where(*_indexed_where(conn, table, words(q)))
    # FTS5 gets only words it can look up by trigram: the rest are checked on the rows the
    # index finds (or, with no such word, on every row). The index is asked for one trigram
    # of each such word, the rarest in a sample (``rarest_trigrams``), which it answers from
    # its posting lists alone; every word is then checked on the search row itself, so the
    # answer is exactly the GLOB rule. (A phrase of all a word's trigrams reads every one of
    # their position lists: "projekt" is in 94,000 of a million documents, and asking for it
    # cost four times the whole check of the rows the rarest trigrams leave.)
    # A join, not ``IN``, so that a ``LIMIT`` stops the index early.
    typed = words(q)
    indexed = [word for word in typed if _has_trigram(word)]
    checked = has_words(table.c, typed, dialect)
    rarest, estimate = rarest_trigrams(conn, table, indexed) if indexed else ([], None)
    # Two-letter words through the index only when the other words leave many rows to check:
    # reading a common pair's trigrams (``er``) costs more than checking a few rows for it.
    few_left = estimate is not None and estimate <= FEW_LEFT
    pairs = None if few_left else _pairs_found(conn, table, [word for word in typed if _is_pair(word)])
    if not indexed and pairs is None:
        return sa.select(key).where(*checked)
    groups = [fts_query(rarest)] if indexed else []
    ending, continued = pairs or ([], [])
    if ending:
        ends = sa.select(key).where(key.in_(ending), *checked)
        if not all(continued):  # a pair that no trigram continues is in no text but at its end
            return ends
        return sa.union(_indexed(table, [*groups, *map(_any_of, continued)], checked), ends)
    if not all(continued):
        return sa.select(key).where(sa.false())
    return _indexed(table, [*groups, *map(_any_of, continued)], checked)


def _indexed_where(
    conn: sa.Connection, table: sa.Table, typed: Sequence[Word]
) -> list[sa.ColumnElement[bool]]:
    """PostgreSQL: ``has_words``, checked on the rows that the index of grams finds for the
    words' rarest grams. Every text's pairs and trigrams of characters are in the index
    (``asstio_grams``), so a row with a word has each of the word's grams, and any of them
    finds a superset of its rows; the statistics of the index tell which gram is the rarest.
    A word's rarest gram is looked up when it is in at most ``COMMON_GRAM`` of the rows (reading
    a longer list costs more than checking the rows it would remove). Without the statistics
    (a database not upgraded to the index, or not analyzed since) the words are only checked,
    by ``LIKE``, which an older database's ``pg_trgm`` index still serves."""
    where = has_words(table.c, typed, conn.dialect.name)
    if conn.dialect.name != "postgresql":
        return where
    grams = [_grams_of(word.plain) for word in typed]
    shares = _gram_shares(conn, table)
    if shares is None:
        return where
    rarest = [min(word_grams, key=lambda gram: shares.get(gram, 0.0)) for word_grams in grams if word_grams]
    looked_up = [gram for gram in rarest if shares.get(gram, 0.0) <= COMMON_GRAM]
    if looked_up:
        index = sa.func.asstio_grams(table.c.Plain, type_=GRAMS)
        where.append(index.contains(sa.bindparam("grams", list(dict.fromkeys(looked_up)), GRAMS)))
    return where


def _grams_of(plain: str) -> list[str]:
    """The grams the index has of a word: itself when it has two characters, else its trigrams
    (none for one character: it is checked on the rows)."""
    return [plain] if len(plain) == PAIR else trigrams(plain)


def _gram_shares(conn: sa.Connection, table: sa.Table) -> dict[str, float] | None:
    """The share of ``table``'s rows that have each of its commonest grams, from PostgreSQL's
    statistics of the index of grams (its most common elements: a gram not among them is rarer
    than every one that is). None before the index or before the table was analyzed."""

    def read() -> dict[str, float]:
        statistics = sa.text(
            "SELECT most_common_elems::text::text[], most_common_elem_freqs FROM pg_stats "
            "WHERE schemaname = current_schema() AND tablename = :index AND attname = 'asstio_grams'"
        )
        row = conn.execute(statistics, {"index": _grams_index_name(table)}).first()
        return dict(zip(row[0], row[1], strict=False)) if row is not None and row[0] is not None else {}

    return _kept(conn, f"gram_shares:{table.name}", read) or None


def _kept(conn: sa.Connection, name: str, read: Callable[[], T]) -> T:
    """What ``read()`` gives, kept in ``conn.info`` under ``name`` for ``STATISTICS_SECONDS``:
    statistics, which choose how the index is asked and never which rows are found."""
    value, read_at = conn.info.get(name, (None, 0.0))
    if value is None or time.monotonic() - read_at > STATISTICS_SECONDS:
        value = read()
        conn.info[name] = value, time.monotonic()
    return cast(T, value)


def _indexed(
    table: sa.Table, groups: Sequence[str], checked: Sequence[sa.ColumnElement[bool]]
) -> sa.Select[tuple[int]]:
    """The keys the index finds for every FTS5 query of ``groups``, each checked on its row."""
    key, name = _key(table), _fts_name(table)
    fts = sa.table(name, sa.column("rowid"))
    match = sa.literal_column(f'"{name}"').op("MATCH")(" AND ".join(groups))
    return sa.select(key).select_from(fts.join(table, key == fts.c.rowid)).where(match, *checked)


def _is_pair(word: Word) -> bool:
    return len(word.plain) == PAIR and not any(ch in "*?[" for ch in word.plain)


def _pairs_found(
    conn: sa.Connection, table: sa.Table, pairs: Sequence[Word]
) -> tuple[list[int], list[list[str]]] | None:
    """For two-letter words: the keys of the texts that end with any of them, and for each the
    trigrams of the index that start with it; None when the database cannot tell (made before
    the vocabulary and the ending index) or there are too many of either (then the words are
    checked on the rows)."""
    if not pairs or not _pairs_indexed(conn, table):
        return None
    plains = list(dict.fromkeys(word.plain for word in pairs))
    ending = conn.scalars(sa.select(_key(table)).where(_ending(table).in_(plains)).limit(ENDINGS + 1)).all()
    if len(ending) > ENDINGS:
        return None
    vocabulary = sa.text(
        f'SELECT term FROM "{_vocab_name(table)}" WHERE term >= :low AND term < :high LIMIT :n'
    )
    continued = []
    for plain in plains:
        bounds = {"low": plain, "high": plain + "\U0010ffff", "n": CONTINUATIONS + 1}
        terms = conn.scalars(vocabulary, bounds).all()
        if len(terms) > CONTINUATIONS:
            return None
        continued.append([term for term in terms if term.startswith(plain)])
    return list(ending), continued


def _any_of(terms: Sequence[str]) -> str:
    return "(" + " OR ".join(f"Plain : {_phrase(term)}" for term in terms) + ")"


def _ending(table: sa.Table) -> sa.ColumnElement[str]:
    """A text's last two characters, as the ending index is written (a literal, not a bound
    parameter, so that SQLite matches the index's expression)."""
    return sa.func.substr(table.c.Plain, sa.literal_column("-2"))


def _pairs_indexed(conn: sa.Connection, table: sa.Table) -> bool:
    """Whether the database has ``table``'s vocabulary and ending index (a yes is remembered per
    connection)."""
    remembered = f"pairs_indexed:{table.name}"
    if conn.info.get(remembered):
        return True
    names = (_vocab_name(table), _ending_index_name(table))
    cursor = conn.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
    try:
        cursor.execute("SELECT count(*) FROM sqlite_master WHERE name IN (?, ?)", names)
        found = bool(cursor.fetchone() == (len(names),))
    finally:
        cursor.close()
    if found:
        conn.info[remembered] = True
    return found


def trigrams(text: str) -> list[str]:
    return list(dict.fromkeys(text[i : i + 3] for i in range(len(text) - 2)))


def rarest_trigrams(
    conn: sa.Connection, table: sa.Table, indexed: Sequence[Word]
) -> tuple[list[str], int | None]:
    """For each word, the trigram of its ``Plain`` text in the fewest rows of a sample (the
    rows of the lowest ``1/SAMPLE`` of the keys): every row with the word has each of its
    trigrams, so any one finds a superset of the rows, and the rarest finds the fewest
    (``Lower`` holds the word typed with diacritics only where ``Plain`` holds it without).
    A word whose rarest trigram is in over ``DRIVING`` times the rows of the rarest word's is
    left to the check on the rows (reading its long list costs more than it removes: ``pro``
    of ``projekt`` beside ``gsg`` of ``kungsgatan``). And about how many rows the rarest of
    them finds (None when no word was sampled)."""
    choices = [trigrams(word.plain) for word in indexed]
    # A long word offers a few of its trigrams, spread over it; a long ``q`` a few dozen in all.
    offered = [tris[:: -(-len(tris) // SAMPLED_PER_WORD)] for tris in choices]
    candidates = list(dict.fromkeys(tri for tris in offered if len(tris) > 1 for tri in tris))
    candidates = candidates[:SAMPLED]
    if not candidates:
        return [tris[0] for tris in choices], None
    seen = _sampled(conn, table, candidates)
    chosen = [
        min([tri for tri in tris if tri in seen] or tris, key=lambda tri: seen.get(tri, 0))
        for tris in choices
    ]
    sampled = [seen[tri] for tri in chosen if tri in seen]
    if not sampled:
        return chosen, None
    driving = max(min(sampled), 1) * DRIVING
    return [tri for tri in chosen if seen.get(tri, 0) <= driving], min(sampled) * SAMPLE


def _sampled(conn: sa.Connection, table: sa.Table, candidates: Sequence[str]) -> dict[str, int]:
    """Each trigram's rows in the sample, counted by the index. The counts only choose which
    trigram the index is asked for (any gives the same rows), so they are kept per connection
    for ``STATISTICS_SECONDS`` (at most ``SAMPLED_KEPT`` of them), as PostgreSQL keeps its
    statistics: a later search with the same trigrams asks only for the match itself."""

    def sample() -> tuple[dict[str, int], int]:  # no counts yet, and the sample's highest key
        top = conn.execute(sa.select(sa.func.max(_key(table)))).scalar() or 0
        return {}, top // SAMPLE

    counts, highest = _kept(conn, f"trigram_sample:{table.name}", sample)
    if len(counts) > SAMPLED_KEPT:
        counts.clear()
    missing = [tri for tri in candidates if tri not in counts]
    if missing:
        name = _fts_name(table)
        count = f'SELECT count(*) FROM "{name}" WHERE "{name}" MATCH ? AND rowid <= ?'
        params = tuple(p for tri in missing for p in (f"Plain : {_phrase(tri)}", highest))
        found = conn.exec_driver_sql(" UNION ALL ".join(f"SELECT ({count})" for _ in missing), params)
        counts.update(zip(missing, found.scalars().all(), strict=True))
    return {tri: counts[tri] for tri in candidates}


def fts_query(tris: Sequence[str]) -> str:
    """An FTS5 query: every trigram, each a quoted phrase in ``Plain``; a quote inside is
    doubled, so nothing a person types is syntax."""
    return " AND ".join(f"Plain : {_phrase(tri)}" for tri in dict.fromkeys(tris))


def _phrase(text: str) -> str:
    return '"' + text.replace('"', '""') + '"'


def _has_trigram(word: Word) -> bool:
    return min(len(word.lower), len(word.plain)) >= 3 and not any(
        ch in "*?[" for ch in word.lower + word.plain
    )


def companies_matching(conn: sa.Connection, q: str) -> Ids:
    return matching_ids(conn, company_search, q)


def products_matching(conn: sa.Connection, q: str) -> Ids:
    return matching_ids(conn, product_search, q)


def documents_matching(
    conn: sa.Connection, q: str, order_id: sa.ColumnElement[int], few: int = FEW_DOCUMENTS
) -> sa.ColumnElement[bool]:
    """The document (``order_id``) has every word of ``q`` in its name or its party's name.

    At most ``few`` such documents: the page is built from their ids. More: each row the page
    walks is checked by its key, so a common word costs what a page costs, not a gathering
    of all its documents."""
    ids = conn.scalars(matching_ids(conn, order_search, q).limit(few + 1)).all()
    if len(ids) <= few:
        return ids_in(conn, order_id, ids)
    t = order_search
    return sa.exists().where(t.c.OrderId == order_id, *has_words(t.c, q, conn.dialect.name))


def ids_in(conn: sa.Connection, column: sa.ColumnElement[int], ids: Sequence[Any]) -> sa.ColumnElement[bool]:
    """``column IN ids``; on PostgreSQL ``= ANY`` of one array parameter, so that the statement's
    text is the same for any number of ids and PostgreSQL plans it once (``IN`` writes one
    parameter per id: a new statement, planned anew, for every count)."""
    if conn.dialect.name == "postgresql":
        return column == sa.any_(sa.bindparam("ids", list(ids), ARRAY(sa.Integer)))
    return column.in_(ids)


# -- writing the search rows --------------------------------------------------------------


def company_rows(conn: sa.Connection, ids: Sequence[int]) -> Iterator[dict[str, Any]]:
    c = s.companies
    for company_id, name in conn.execute(sa.select(c.c.Id, c.c.Name).where(c.c.Id.in_(ids))):
        yield _row(company_search, company_id, name)


def product_rows(conn: sa.Connection, ids: Sequence[int]) -> Iterator[dict[str, Any]]:
    p = s.products
    stmt = sa.select(p.c.Id, p.c.ProductNumber, p.c.Description).where(p.c.Id.in_(ids))
    for product_id, number, description in conn.execute(stmt):
        yield _row(product_search, product_id, f"{number} {description}") | {"Number": number.lower()}


def order_rows(conn: sa.Connection, ids: Sequence[int]) -> Iterator[dict[str, Any]]:
    o, c = s.orders, s.companies
    stmt = sa.select(o.c.Id, o.c.Name, c.c.Name).outerjoin(c, c.c.Id == o.c.CompanyId).where(o.c.Id.in_(ids))
    for order_id, name, party in conn.execute(stmt):
        yield _row(order_search, order_id, f"{name or ''} {party or ''}".strip())


def _row(table: sa.Table, key: int, text: str) -> dict[str, Any]:
    lower, plain = fold(text)
    return {_key(table).name: key, "Lower": lower, "Plain": plain}


def index_companies(conn: sa.Connection, ids: Iterable[int]) -> None:
    _rewrite(conn, s.companies, ids)


def index_products(conn: sa.Connection, ids: Iterable[int]) -> None:
    _rewrite(conn, s.products, ids)


def index_orders(conn: sa.Connection, ids: Iterable[int]) -> None:
    _rewrite(conn, s.orders, ids)


SOURCES: dict[
    sa.Table, tuple[sa.Table, Callable[[sa.Connection, Sequence[int]], Iterator[dict[str, Any]]]]
] = {
    s.companies: (company_search, company_rows),
    s.products: (product_search, product_rows),
    s.orders: (order_search, order_rows),
}


def rows_for(
    conn: sa.Connection, source: sa.Table, ids: Sequence[int]
) -> tuple[sa.Table, list[dict[str, Any]]]:
    """The search table that ``source`` feeds and the search rows of ``ids``, for a bulk
    loader that writes them its own way (``_rewrite`` is the general path)."""
    table, rows = SOURCES[source]
    return table, [row for chunk in _chunks(list(ids)) for row in rows(conn, chunk)]


def _rewrite(conn: sa.Connection, source: sa.Table, ids: Iterable[int]) -> None:
    """Replace the search rows of ``ids`` with rows folded from the source rows now."""
    table, rows = SOURCES[source]
    key = _key(table)
    for chunk in _chunks(list(ids)):
        conn.execute(table.delete().where(key.in_(chunk)))
        fresh = list(rows(conn, chunk))
        if fresh:
            conn.execute(table.insert(), fresh)


def index_written(conn: sa.Connection, table: sa.Table, rows: Sequence[Mapping[str, Any]]) -> None:
    """After a writer put ``rows`` into ``table``: their search rows, and those of the documents
    of every company whose name changed."""
    if table not in SOURCES or not rows:
        return
    ids = [row["Id"] for row in rows]
    if table is not s.companies:
        _rewrite(conn, table, ids)
        return
    before = _texts(conn, ids)
    _rewrite(conn, table, ids)
    renamed = [company_id for company_id, text in _texts(conn, ids).items() if before.get(company_id) != text]
    if renamed:
        o = s.orders
        index_orders(conn, conn.scalars(sa.select(o.c.Id).where(o.c.CompanyId.in_(renamed))))


def _texts(conn: sa.Connection, ids: Sequence[int]) -> dict[int, str]:
    t = company_search
    rows = conn.execute(sa.select(t.c.CompanyId, t.c.Lower).where(t.c.CompanyId.in_(ids)))
    return {company_id: text for company_id, text in rows}


def reindex(conn: sa.Connection) -> None:
    """Rewrite every search row from the source tables (after a load that did not)."""
    for source, index in (
        (s.companies, index_companies),
        (s.products, index_products),
        (s.orders, index_orders),
    ):
        last = None
        while True:
            stmt = sa.select(source.c.Id).order_by(source.c.Id).limit(WRITE_CHUNK * 10)
            ids = list(conn.scalars(stmt if last is None else stmt.where(source.c.Id > last)))
            if not ids:
                break
            index(conn, ids)
            last = ids[-1]


def _chunks(ids: list[int]) -> Iterator[list[int]]:
    for start in range(0, len(ids), WRITE_CHUNK):
        yield ids[start : start + WRITE_CHUNK]


def _key(table: sa.Table) -> sa.Column[Any]:
    return next(iter(table.primary_key.columns))


# -- the indexes --------------------------------------------------------------------------


def build_search(conn: sa.Connection, *, rewrite: bool = False) -> bool:
    """Make a tenant database searchable: the search tables and their indexes where missing,
    filled from the source tables when the tables were missing (or ``rewrite``). For databases
    written before search existed, and by writers that skip the search rows. True if rows
    were written."""
    missing = [table for table in SEARCH_TABLES if not sa.inspect(conn).has_table(table.name)]
    for table in missing:
        table.create(conn)
    if missing or rewrite:
        reindex(conn)
    create_search_indexes(conn)
    return bool(missing) or rewrite


def _fts_name(table: sa.Table) -> str:
    return f"{table.name}Index"


def _vocab_name(table: sa.Table) -> str:
    return f"{table.name}Terms"


def _ending_index_name(table: sa.Table) -> str:
    return f"ix_{table.name.lower()}_ending"


def _grams_index_name(table: sa.Table) -> str:
    return f"ix_{table.name.lower()}_grams"


# Every pair and trigram of neighbouring characters of a text, as many times as they occur (GIN
# keeps each key once per row). Immutable: an index is built on it.
GRAMS_FUNCTION = (
    "CREATE FUNCTION asstio_grams(text) RETURNS text[] LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE "
    "AS $$ SELECT ARRAY(SELECT substr($1, i, n) FROM generate_series(2, 3) AS n, "
    "generate_series(1, length($1) - n + 1) AS i) $$"
)
# Indexes of earlier versions, replaced by the index of grams.
FORMER_INDEXES = ("plain", "words")


def create_search_indexes(conn: sa.Connection) -> None:
    """The indexes over the search tables, where they are missing (filled from the rows already
    there). SQLite: an FTS5 table per search table, kept in step by triggers. PostgreSQL: a GIN
    index of each text's grams (``asstio_grams``: its pairs and trigrams of characters), which
    replaces the ``pg_trgm`` indexes of databases made before it, and the table's statistics."""
    if conn.dialect.name == "sqlite":
        for table in SEARCH_TABLES:
            _create_fts(conn, table)
    elif conn.dialect.name == "postgresql":
        if conn.exec_driver_sql("SELECT to_regprocedure('asstio_grams(text)')").scalar() is None:
            conn.exec_driver_sql(GRAMS_FUNCTION)
        for table in SEARCH_TABLES:
            index = _grams_index_name(table)
            if conn.exec_driver_sql(f"SELECT to_regclass('\"{index}\"')").scalar() is not None:
                continue
            conn.exec_driver_sql(
                f'CREATE INDEX "{index}" ON "{table.name}" USING gin (asstio_grams("Plain"))'
            )
            conn.exec_driver_sql(f'ANALYZE "{table.name}"')  # the statistics of its grams (``_gram_shares``)
        # Last: dropping an index locks its table against reads until the transaction ends
        # (building one locks it only against writes), so the former ones go once all are built.
        for table in SEARCH_TABLES:
            for former in FORMER_INDEXES:
                conn.exec_driver_sql(f'DROP INDEX IF EXISTS "ix_{table.name.lower()}_{former}"')


def _create_fts(conn: sa.Connection, table: sa.Table) -> None:
    fts, key = _fts_name(table), _key(table).name
    if not sa.inspect(conn).has_table(fts):
        conn.exec_driver_sql(
            f'CREATE VIRTUAL TABLE "{fts}" USING fts5("Lower", "Plain", content="{table.name}", '
            f"content_rowid=\"{key}\", tokenize='trigram case_sensitive 1')"
        )
        new = f'(rowid, "Lower", "Plain") VALUES (new."{key}", new."Lower", new."Plain")'
        old = f'("{fts}", rowid, "Lower", "Plain") VALUES (\'delete\', old."{key}", old."Lower", old."Plain")'
        for name, when, body in (
            ("ai", "AFTER INSERT", f'INSERT INTO "{fts}" {new};'),
            ("ad", "AFTER DELETE", f'INSERT INTO "{fts}" {old};'),
            ("au", "AFTER UPDATE", f'INSERT INTO "{fts}" {old}; INSERT INTO "{fts}" {new};'),
        ):
            conn.exec_driver_sql(f'CREATE TRIGGER "{fts}_{name}" {when} ON "{table.name}" BEGIN {body} END')
        conn.exec_driver_sql(f'INSERT INTO "{fts}"("{fts}") VALUES (\'rebuild\')')
    # The index's vocabulary (its trigrams) and each text's last two characters: how a word of
    # two characters is found (``_pairs_found``). Added to databases made before them too.
    conn.exec_driver_sql(
        f'CREATE VIRTUAL TABLE IF NOT EXISTS "{_vocab_name(table)}" USING fts5vocab("{fts}", \'row\')'
    )
    conn.exec_driver_sql(
        f'CREATE INDEX IF NOT EXISTS "{_ending_index_name(table)}" ON "{table.name}" (substr("Plain", -2))'
    )
