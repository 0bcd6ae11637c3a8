"""The payload readers give listeners what they expect, whatever arrived, and never raise."""

from datetime import date

import pytest

from bot.slack import messages, payloads
from bot.slack.services import read_values


def test_text_is_text_without_lone_surrogates():
    assert payloads.text("J.S.") == "J.S."
    assert payloads.text("a\ud800b\udfffc") == "abc"
    assert payloads.text("😀") == "😀"
    for not_text in (None, 12, 1.5, True, [], {}, b"bytes"):
        assert payloads.text(not_text) == ""


def test_user_ids_look_like_slack_user_ids():
    assert payloads.user_id("U0TEACHER") == "U0TEACHER"
    assert payloads.user_id("W012ABC") == "W012ABC"
    for not_an_id in ("", "u0teacher", "C0CHANNEL", "U0 X", "U" + "A" * 40, None, 7, ["U0TEACHER"]):
        assert payloads.user_id(not_an_id) == ""
    assert payloads.user_ids(["U0A1", 3, "nobody", "U0B2"]) == ["U0A1", "U0B2"]
    assert [payloads.channel_id(c) for c in ("C0GENERAL", "D0TEACHER", "G0PRIV", "C0\ud800", "U0X", None)] == [
        "C0GENERAL",
        "D0TEACHER",
        "G0PRIV",
        "",
        "",
        "",
    ]
    assert payloads.user_ids("U0A1") == []


def test_dates_are_iso_dates_or_none():
    assert payloads.read_date("2026-04-01") == date(2026, 4, 1)
    for not_a_date in (None, "", "1 April 2026", "2026-02-30", 20260401, ["2026-04-01"], "2026-04-01\ud800x"):
        assert payloads.read_date(not_a_date) is None


def test_a_case_buttons_value_reads_as_reference_and_version_or_as_nothing():
    assert messages.read_action_value('{"r": "ESC-2026-0001", "v": 3}') == ("ESC-2026-0001", 3)
    # A settled copy's buttons carry no version.
    assert messages.read_action_value('{"r": "ESC-2026-0001"}') == ("ESC-2026-0001", None)
    for bad in (
        "",
        "{not json",
        "[1, 2]",
        '"ESC-2026-0001"',
        '{"r": 5, "v": 3}',
        '{"r": "ESC-2026-0001", "v": "3"}',
        '{"r": "ESC-2026-0001", "v": true}',
        '{"r": "ESC-2026-0001", "v": -1}',
        '{"r": "ESC-2026-0001", "v": 1e400}',
        '{"r": "ESC-2026-0001", "v": 99999999999999999999999}',
        "[" * 100_000,
        None,
        42,
        {"r": "x"},
    ):
        assert messages.read_action_value(bad) == ("", None), bad


def test_private_metadata_reads_as_an_object_of_strings():
    assert payloads.read_metadata('{"immediate_risk": "no", "n": 1, "l": ["yes"]}') == {"immediate_risk": "no"}
    for bad in (None, "", "nope", "[]", "3", 3):
        assert payloads.read_metadata(bad) == {}


def test_view_values_tolerate_any_shape():
    view = {
        "state": {
            "values": {
                "child_initials": {"a": {"type": "plain_text_input", "value": 12}},
                "level_of_need": {"a": {"type": "static_select", "selected_option": "Child in Need"}},
                "themes": {
                    "a": {"type": "multi_static_select", "selected_options": [{"value": "T1"}, "T2", {"value": 3}]}
                },
                "next_holders": {"a": {"type": "multi_users_select", "selected_users": ["U0HEAD", {"id": "U0X"}]}},
                "outcome_date": {"a": {"type": "datepicker", "selected_date": 5}},
                "note_text": {"a": {"type": "plain_text_input", "value": "fine\ud800"}},
                "broken": "not an object",
                "also_broken": {"a": ["not", "an", "object"]},
            }
        }
    }
    values = read_values(view)
    assert values.get("child_initials", "") == ""
    assert values.get("level_of_need", "") == ""
    assert values.get("themes", []) == ["T1"]
    assert values.get("next_holders", []) == ["U0HEAD"]
    assert values.get("outcome_date") is None
    assert values.get("note_text", "") == "fine"
    assert "broken" not in values and "also_broken" not in values


@pytest.mark.parametrize(
    "view", [None, [], "view", {}, {"state": None}, {"state": {"values": []}}, {"state": {"values": {"b": None}}}]
)
def test_a_view_without_usable_state_reads_as_no_answers(view):
    assert read_values(view) == {}


def test_an_answer_of_the_wrong_kind_reads_as_the_default():
    # A field typed as a list where text is expected (or the reverse) reads as the listener's default.
    values = read_values(
        {
            "state": {
                "values": {
                    "child_initials": {"a": {"type": "multi_static_select", "selected_options": [{"value": "J.S."}]}},
                    "themes": {"a": {"type": "plain_text_input", "value": "Levels of need"}},
                }
            }
        }
    )
    assert values.get("child_initials", "") == ""
    assert values.get("themes", []) == []
    assert values.get("missing", "") == ""
