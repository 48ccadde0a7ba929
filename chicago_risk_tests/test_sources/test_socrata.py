"""SocrataSource against a local server answering in SODA's real shapes."""

import json
import socket
import time
from datetime import date

import polars as pl
import pytest

from chicago_risk.sources.base import SourceUnavailableError
from chicago_risk.sources.socrata import SocrataSource
from chicago_risk.sources.soda import SODA_SCHEMA, soda_frame
from chicago_risk_tests.fixtures.servers import RECORDED, RESOURCE, Reply, serve_rows

TYPES = ("Water On Street Complaint", "Check for Leak")
START, END = date(2021, 1, 1), date(2021, 1, 7)


def socrata(server, **fields) -> SocrataSource:
    defaults = {"base_url": server.url, "max_retries": 3, "backoff_s": 0.001, "timeout_s": 2.0}
    return SocrataSource(**{**defaults, **fields})


def numbered_rows(count: int) -> list[dict]:
    """`count` distinct recorded-shape rows, in the order the query asks for."""
    return [
        {
            **RECORDED[i % len(RECORDED)],
            "sr_number": f"SR21-{i:08d}",
            "created_date": f"2021-01-0{1 + i // 24}T{i % 24:02d}:00:00.000",
        }
        for i in range(count)
    ]


def test_pages_until_a_short_page_in_a_stable_order_with_window_and_types(server):
    rows = numbered_rows(7)
    serve_rows(server, rows)

    frame = socrata(server, page_size=3).fetch_requests(START, END, TYPES)

    assert frame.schema == pl.Schema(SODA_SCHEMA)
    assert frame["sr_number"].to_list() == [row["sr_number"] for row in rows]
    sent = [seen.params for seen in server.requests_to(RESOURCE)]
    assert [(p["$offset"], p["$limit"]) for p in sent] == [("0", "3"), ("3", "3"), ("6", "3")]
    assert {p["$order"] for p in sent} == {"created_date,sr_number"}
    assert {p["$where"] for p in sent} == {
        "created_date >= '2021-01-01T00:00:00' AND created_date < '2021-01-08T00:00:00' "
        "AND sr_type in ('Water On Street Complaint', 'Check for Leak')"
    }


def test_a_full_last_page_is_followed_by_an_empty_one(server):
    serve_rows(server, numbered_rows(6))

    frame = socrata(server, page_size=3).fetch_requests(START, END, TYPES)

    assert frame.height == 6 and frame["sr_number"].n_unique() == 6
    assert [s.params["$offset"] for s in server.requests_to(RESOURCE)] == ["0", "3", "6"]


def test_single_quotes_in_type_names_are_doubled(server):
    serve_rows(server, [])

    socrata(server).fetch_requests(START, START, ("Owner's Complaint",))

    assert server.seen[0].params["$where"].endswith("AND sr_type in ('Owner''s Complaint')")


def test_no_types_asks_nothing(server):
    assert socrata(server).fetch_requests(START, END, ()).is_empty()
    assert server.seen == []


def test_rows_arrive_as_the_api_gave_them_even_malformed_ones(server):
    malformed = {
        **RECORDED[0],
        "sr_number": "SR21-00000999",
        "created_date": "garbage",
        "latitude": "4l.88",
        "location": {"latitude": "4l.88", "longitude": "-87.66"},
    }
    serve_rows(server, [*RECORDED, malformed])

    frame = socrata(server).fetch_requests(START, END, TYPES)

    assert frame.equals(soda_frame([*RECORDED, malformed]))
    got = frame.row(3, named=True)
    assert (got["created_date"], got["latitude"]) == ("garbage", "4l.88")
    assert got["location"] == {"latitude": "4l.88", "longitude": "-87.66", "human_address": None}
    first = frame.row(0, named=True)
    assert first["created_date"] == "2021-01-01T05:59:30.000"
    assert first["duplicate"] is False and first["parent_sr_number"] is None  # absent -> null
    assert json.loads(first["location"]["human_address"])["address"] == ""
    assert frame.row(2, named=True)["duplicate"] is True


def test_the_app_token_goes_in_a_header_when_set(server):
    serve_rows(server, [])

    socrata(server, app_token="tok3n").fetch_requests(START, END, TYPES)
    socrata(server).fetch_requests(START, END, TYPES)

    with_token, without = server.requests_to(RESOURCE)
    assert with_token.headers.get("X-App-Token") == "tok3n"
    assert "X-App-Token" not in without.headers


def test_a_429_is_retried_after_the_servers_retry_after(server):
    serve_rows(server, RECORDED)
    server.queue(RESOURCE, Reply(429, {"message": "slow down"}, {"Retry-After": "0.3"}))

    began = time.monotonic()
    frame = socrata(server).fetch_requests(START, END, TYPES)

    assert frame.height == len(RECORDED)
    assert time.monotonic() - began >= 0.3  # the backoff alone would have waited 1 ms
    assert len(server.requests_to(RESOURCE)) == 2


def test_a_500_is_retried(server):
    serve_rows(server, RECORDED)
    server.queue(RESOURCE, Reply(500, {"message": "internal error"}))

    assert socrata(server).fetch_requests(START, END, TYPES).height == len(RECORDED)
    assert len(server.requests_to(RESOURCE)) == 2


def test_a_timeout_is_retried(server):
    serve_rows(server, RECORDED)
    server.queue(RESOURCE, Reply(body=RECORDED, delay_s=0.6))

    frame = socrata(server, timeout_s=0.2).fetch_requests(START, END, TYPES)

    assert frame.height == len(RECORDED)
    assert len(server.requests_to(RESOURCE)) == 2


def test_a_persistent_503_ends_in_source_unavailable_with_what_to_check(server):
    server.routes[RESOURCE] = lambda params: Reply(503, {"message": "maintenance"})

    with pytest.raises(SourceUnavailableError) as raised:
        socrata(server, max_retries=2).fetch_requests(START, END, TYPES)

    message = str(raised.value)
    assert "Socrata" in message and RESOURCE in message and "HTTP 503" in message
    assert "after 2 retries" in message and "CHICAGO_RISK_SOCRATA_URL" in message
    assert len(server.requests_to(RESOURCE)) == 3


def test_a_404_fails_at_once_without_retries(server):
    with pytest.raises(SourceUnavailableError) as raised:
        socrata(server, base_url=f"{server.url}/wrong").fetch_requests(START, END, TYPES)

    assert "HTTP 404" in str(raised.value) and "/wrong/resource/v6vf-nfxy.json" in str(raised.value)
    assert len(server.seen) == 1


def test_an_unreachable_host_is_retried_then_reported():
    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    source = SocrataSource(base_url=f"http://127.0.0.1:{port}", max_retries=1, backoff_s=0.001)

    with pytest.raises(SourceUnavailableError, match=r"ConnectError.*CHICAGO_RISK_SOCRATA_URL"):
        source.fetch_requests(START, END, TYPES)


def test_a_body_that_is_not_a_list_of_rows_is_an_error(server):
    server.routes[RESOURCE] = lambda params: Reply(body={"error": True, "message": "query timeout"})

    with pytest.raises(SourceUnavailableError, match="list of rows"):
        socrata(server).fetch_requests(START, END, TYPES)


def test_discover_types_groups_by_type_and_sorts_by_volume(server):
    counts = [  # SODA sends aggregates as strings, and leaves out null group keys
        {"sr_type": "Water On Street Complaint", "sr_short_code": "AAE", "requests": "10000"},
        {"sr_type": "Check for Leak", "sr_short_code": "WM3", "requests": "9400"},
        {"sr_type": "Aircraft Noise Complaint", "requests": "12"},
    ]
    server.routes[RESOURCE] = lambda params: Reply(body=counts)

    types = socrata(server).discover_types(date(2024, 1, 1))

    assert types.schema == pl.Schema(
        {"sr_type": pl.String, "sr_short_code": pl.String, "requests": pl.Int64}
    )
    assert types.rows() == [
        ("Water On Street Complaint", "AAE", 10000),
        ("Check for Leak", "WM3", 9400),
        ("Aircraft Noise Complaint", None, 12),
    ]
    params = server.seen[0].params
    assert params["$select"] == "sr_type,sr_short_code,count(*) as requests"
    assert params["$group"] == "sr_type,sr_short_code"
    assert params["$where"] == "created_date >= '2024-01-01T00:00:00'"
    assert params["$order"].startswith("requests DESC")


def test_dataset_info_names_the_dataset_and_its_terms():
    info = SocrataSource(base_url="https://data.cityofchicago.org/").dataset_info()

    assert info.name == "City of Chicago 311 Service Requests (v6vf-nfxy)"
    assert info.licence == "City of Chicago Data Portal terms of use"
    assert info.url == "https://data.cityofchicago.org/d/v6vf-nfxy"
