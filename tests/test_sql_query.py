"""resourcekit.sql: the query string of a collection, on SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import sqlalchemy as sa
from marshmallow import fields
from sqlapp import (
    Station,
    Stations,
    StationSchema,
    add_observations,
    count,
    make_site,
    station,
)

from resourcekit import Site
from resourcekit.sql import Database
from resourcekit.testing import Client

XML = {"Accept": "application/xml"}


def _stations(db: Database, rows: list[tuple[str, str, float | None]]) -> None:
    now = dt.datetime.now(dt.UTC)
    with db.sessions.begin() as session:
        session.add_all(
            Station(name=n, latitude=1.0, country=c, elevation_m=e, updated_at=now)
            for n, c, e in rows
        )


def _names(response: Any) -> list[str]:
    assert response.status_code == 200, response.text
    return [row["name"] for row in response.json]


def _links(response: Any) -> dict[str, dict[str, list[str]]]:
    found = {}
    for part in response.headers["Link"].split(", <"):
        url, rel = part.strip("<").split(">; rel=")
        found[rel.strip('"')] = parse_qs(urlsplit(url).query)
    return found


ROWS = [("Alpha", "AT", 100.0), ("Bravo", "DE", 2000.0), ("Charlie", "DE", 500.0),
        ("Delta", "FR", 1500.0), ("Echo", "AT", 2000.0)]


def test_filters_equal_any_of_and_ranges(client: Client, db: Database) -> None:
    _stations(db, ROWS)
    assert _names(client.get("/stations?country=DE")) == ["Bravo", "Charlie"]
    assert _names(client.get("/stations?country=AT&country=FR")) == ["Alpha", "Delta", "Echo"]
    assert _names(client.get("/stations?elevation_m[gte]=1500")) == ["Bravo", "Delta", "Echo"]
    assert _names(client.get("/stations?elevation_m[gt]=500&elevation_m[lt]=2000")) == ["Delta"]
    assert _names(client.get("/stations?elevation_m[lte]=500&country=DE")) == ["Charlie"]
    assert _names(client.get("/stations?name=Echo")) == ["Echo"]


def test_sort_with_ties_broken_by_the_primary_key(client: Client, db: Database) -> None:
    _stations(db, ROWS)
    assert _names(client.get("/stations?sort=-elevation_m")) == [
        "Bravo", "Echo", "Delta", "Charlie", "Alpha"
    ]
    assert _names(client.get("/stations?sort=-elevation_m,-name")) == [
        "Echo", "Bravo", "Delta", "Charlie", "Alpha"
    ]
    backwards = ["Echo", "Delta", "Charlie", "Bravo", "Alpha"]
    assert _names(client.get("/stations?sort=-name")) == backwards


def test_a_descending_sort_by_the_primary_key(client: Client, db: Database) -> None:
    _stations(db, ROWS)
    assert _names(client.get("/stations?sort=-id")) == [name for name, *_ in reversed(ROWS)]
    ties = _names(client.get("/stations?sort=elevation_m,-id"))
    assert ties == ["Alpha", "Charlie", "Delta", "Echo", "Bravo"]
    walked, url = [], "/stations?limit=2&sort=-id"
    while url:
        page = client.get(url)
        walked += _names(page)
        after = _links(page).get("next")
        url = f"/stations?limit=2&sort=-id&cursor={after['cursor'][0]}" if after else ""
    assert walked == [name for name, *_ in reversed(ROWS)]


@pytest.mark.parametrize("sort", ["elevation_m", "-elevation_m"])
def test_nulls_sort_above_every_value_and_cursors_walk_past_them(
    client: Client, db: Database, sort: str
) -> None:
    _stations(db, [(f"s{n}", "AT", e) for n, e in enumerate(
        [None, 100.0, None, 5.0, 1000.0, None, 100.0, 2000.0]
    )])
    whole = _names(client.get(f"/stations?limit=100&sort={sort}"))
    ascending = ["s3", "s1", "s6", "s4", "s7", "s0", "s2", "s5"]  # the same on both databases
    assert whole == (ascending if sort == "elevation_m" else
                     ["s0", "s2", "s5", "s7", "s4", "s1", "s6", "s3"])
    walked, pages, url = [], [], f"/stations?limit=3&sort={sort}"
    while url:
        pages.append(client.get(url))
        walked += _names(pages[-1])
        after = _links(pages[-1]).get("next")
        url = f"/stations?limit=3&sort={sort}&cursor={after['cursor'][0]}" if after else ""
    assert walked == whole
    before = _links(pages[-1])["prev"]["cursor"][0]  # backwards, across NULLs and values
    assert _names(client.get(f"/stations?limit=3&sort={sort}&cursor={before}")) == whole[3:6]


def test_default_sort_newest_first(client: Client, db: Database) -> None:
    made = station(client)["id"]
    add_observations(db, made, range(3))
    times = [o["observed_at"] for o in client.get(f"/stations/{made}/observations").json]
    assert times == sorted(times, reverse=True) and len(times) == 3


def test_aliases_name_other_parameters(client: Client, db: Database) -> None:
    made = station(client)["id"]
    add_observations(db, made, range(5))
    path = f"/stations/{made}/observations"
    window = client.get(f"{path}?since=2024-05-01T01:00:00Z&until=2024-05-01T05:00:00%2B02:00")
    assert [o["observed_at"][11:13] for o in window.json] == ["03", "02", "01"]
    assert client.get(f"{path}?since=yesterday").json["errors"] == {
        "since": ["Not a valid datetime."]
    }


def test_sparse_fieldsets_in_json_and_xml(client: Client, db: Database) -> None:
    _stations(db, ROWS[:2])
    assert client.get("/stations?fields=id,name").json == [
        {"id": 1, "name": "Alpha"}, {"id": 2, "name": "Bravo"}
    ]
    xml = client.get("/stations?fields=name", headers=XML).text
    assert "<name>Alpha</name>" in xml and "country" not in xml and "<id>" not in xml
    chosen = "version,country,name,id,latitude,elevation_m"  # members keep the schema's order
    row = client.get(f"/stations?fields={chosen}").json[0]
    assert list(row) == ["id", "name", "latitude", "country", "elevation_m", "version"]


def test_expand_loads_related_rows_in_bounded_queries(client: Client, db: Database) -> None:
    made = station(client)["id"]
    add_observations(db, made, range(100))
    statements: list[str] = []

    def seen(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        statements.append(statement)

    sa.event.listen(db.engine, "before_cursor_execute", seen)
    try:
        page = client.get(f"/stations/{made}/observations?expand=station&limit=100")
    finally:
        sa.event.remove(db.engine, "before_cursor_execute", seen)
    assert page.status_code == 200, page.text
    assert len(page.json) == 100
    assert all(o["station"]["name"] == "Sonnblick" for o in page.json)
    assert len(statements) <= 4, statements  # parent check, page, related rows (and no more)
    plain = client.get(f"/stations/{made}/observations?limit=1").json[0]
    assert "station" not in plain
    only = client.get(f"/stations/{made}/observations?limit=1&expand=station&fields=id,station")
    assert set(only.json[0]) == {"id", "station"}


def test_offset_pages_link_by_offset(client: Client, db: Database) -> None:
    _stations(db, ROWS)
    first = client.get("/stations?limit=2&offset=0")
    assert _names(first) == ["Alpha", "Bravo"]
    links = _links(first)
    assert links["next"]["offset"] == ["2"] and "cursor" not in links["next"]
    last = client.get("/stations?limit=2&offset=4")
    assert _names(last) == ["Echo"]
    assert "next" not in _links(last) and _links(last)["prev"]["offset"] == ["2"]


def test_a_cursor_walk_neither_skips_nor_repeats(client: Client, db: Database) -> None:
    _stations(db, [(f"s{n:03}", "AT", float(n % 4)) for n in range(30)])
    seen: list[int] = []
    url = "/stations?limit=4&sort=-elevation_m"
    ids = [row["id"] for row in client.get("/stations?limit=100&sort=-elevation_m").json]
    removed: set[int] = set()
    steps = 0
    while url:
        page = client.get(url)
        assert page.status_code == 200, page.text
        seen += [row["id"] for row in page.json]
        # between requests: a row ahead of the walk goes, new rows come (ahead and behind)
        ahead = [i for i in ids if i not in seen and i not in removed]
        if ahead:
            assert client.delete(f"/stations/{ahead[-1]}").status_code == 204
            removed.add(ahead[-1])
        station(client, name=f"new{steps}", elevation_m=float(steps % 4))
        steps += 1
        links = _links(page)
        url = ("/stations?" + "&".join(f"{k}={v[0]}" for k, v in links["next"].items())
               if "next" in links else "")
    assert len(seen) == len(set(seen)), "a row came twice"
    assert set(ids) - removed <= set(seen), "a row that stayed was skipped"
    assert not removed & set(seen)


def test_a_cursor_leads_back_with_prev(client: Client, db: Database) -> None:
    _stations(db, ROWS)
    first = client.get("/stations?limit=2")
    second = client.get("/stations?limit=2&cursor=" + _links(first)["next"]["cursor"][0])
    assert _names(second) == ["Charlie", "Delta"]
    back = client.get("/stations?limit=2&cursor=" + _links(second)["prev"]["cursor"][0])
    assert _names(back) == ["Alpha", "Bravo"]
    assert "prev" not in _links(back)


BAD = [
    "limit=0", "limit=101", "limit=x", "offset=-1", "offset=x", "offset=" + "9" * 30,
    "cursor=nonsense",
    "sort=latitude", "sort=-nope", "fields=secret", "elevation_m=high",
    "elevation_m[gte]=x", "elevation_m[lt]=", "name=" + "x" * 101, "bogus=1", "expand=station",
    "limit=2&cursor=abc&offset=1",
]


@pytest.mark.parametrize("query", BAD)
def test_bad_input_of_every_parameter_is_a_400_naming_it(
    client: Client, db: Database, query: str
) -> None:
    _stations(db, ROWS[:1])
    before = count(db, "stations")
    response = client.get(f"/stations?{query}")
    assert response.status_code == 400, response.text
    assert response.headers["Content-Type"] == "application/problem+json"
    named = query.split("&")[-1].split("=")[0]
    assert named in response.json["errors"], response.json
    assert count(db, "stations") == before


def test_a_cursor_of_another_sort_is_a_400(client: Client, db: Database) -> None:
    _stations(db, ROWS)
    cursor = _links(client.get("/stations?limit=2"))["next"]["cursor"][0]
    response = client.get(f"/stations?limit=2&sort=name&cursor={cursor}")
    assert response.status_code == 400 and "cursor" in response.json["errors"]


def test_the_openapi_document_lists_the_parameters(db: Database) -> None:
    document = make_site(db).openapi()
    parameters = {
        p["name"]: p for p in document["paths"]["/stations"]["get"]["parameters"] if "name" in p
    }
    assert {"limit", "offset", "cursor", "sort", "fields", "country", "elevation_m[gte]"} <= set(
        parameters
    )
    assert parameters["sort"]["schema"]["items"]["enum"] == [
        "name", "-name", "elevation_m", "-elevation_m", "id", "-id"
    ]
    assert "name" in parameters["fields"]["schema"]["items"]["enum"]
    assert parameters["limit"]["schema"]["maximum"] == 100
    nested = document["paths"]["/stations/{station_id}/observations"]["get"]["parameters"]
    expand = next(p for p in nested if p.get("name") == "expand")
    assert expand["schema"]["items"]["enum"] == ["station"]


def test_offset_paging_by_default_with_a_count_names_the_last_page(db: Database) -> None:
    from sqlapp import Stations

    from resourcekit import Site

    class Counted(Stations):
        paging = "offset"
        count = True

    site = Site(title="Stations")
    site.add("/stations", Counted(db))
    client = Client(site)
    _stations(db, ROWS)
    first = client.get("/stations?limit=2&country=AT&country=DE&country=FR")
    assert _names(first) == ["Alpha", "Bravo"]
    links = _links(first)
    assert set(links) == {"first", "next", "last"}
    assert (links["next"]["offset"], links["last"]["offset"]) == (["2"], ["4"])
    beyond = client.get("/stations?limit=2&offset=10")
    assert _names(beyond) == [] and _links(beyond)["last"]["offset"] == ["4"]


def test_a_query_string_loads_once_unless_a_filter_may_load_it_otherwise(db: Database) -> None:
    checked: list[str] = []

    class WatchedSchema(StationSchema):
        name = fields.Str(required=True, validate=lambda value: not checked.append(value))

    class Watched(Stations):
        schema = WatchedSchema

    site = Site()
    site.add("/stations", Stations(db))
    site.add("/watched", Watched(db))
    client = Client(site)
    _stations(db, ROWS[:1])
    assert _names(client.get("/stations?country=DE")) == []
    _stations(db, ROWS[1:3])  # the remembered query is run again, not its answer
    assert _names(client.get("/stations?country=DE")) == ["Bravo", "Charlie"]
    assert Stations(db).language.deterministic and not Watched(db).language.deterministic
    for _ in range(2):
        assert _names(client.get("/watched?name=Bravo")) == ["Bravo"]
    assert checked == ["Bravo", "Bravo"]
