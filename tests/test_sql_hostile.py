"""resourcekit.sql against input a database cannot take: answered as problems, never a 500."""

from __future__ import annotations

import pytest
from sqlapp import STATION, count

from resourcekit.sql import Database
from resourcekit.testing import Client


@pytest.mark.parametrize("query", ["name=a%00b", "name[gte]=%00", "country=%00%00"])
def test_a_nul_in_a_filter_is_400_or_nothing_found(client: Client, query: str) -> None:
    response = client.get(f"/stations?{query}")
    assert response.status_code in (200, 400), response.text
    if response.status_code == 200:
        assert response.json == []


def test_a_nul_in_a_body_is_422_or_stored_as_sent(client: Client, db: Database) -> None:
    response = client.post("/stations", json={**STATION, "name": "a\u0000b"})
    assert response.status_code in (201, 422), response.text
    if response.status_code == 201:
        assert client.get(response.headers["Location"]).json["name"] == "a\u0000b"
    else:
        assert count(db, "stations") == 0
