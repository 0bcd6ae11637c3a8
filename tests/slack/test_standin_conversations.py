"""The stand-in keeps message metadata and reads conversations back as Slack does."""

import pytest
from slack_sdk.errors import SlackApiError

from tests.slack.conftest import CSCP_CHANNEL, PEOPLE

TAG = {"event_type": "escalation_bot_outbox", "event_payload": {"outbox_id": 7}}


async def error_of(call) -> str:
    with pytest.raises(SlackApiError) as error:
        await call
    return error.value.response["error"]


async def test_history_is_newest_first_with_metadata_only_when_asked_for(running):
    client = running.bot.app.client
    posted = [
        (
            await client.chat_postMessage(
                channel=CSCP_CHANNEL, text=f"m{n}", metadata=dict(TAG, event_payload={"outbox_id": n})
            )
        )["ts"]
        for n in range(3)
    ]
    await client.chat_postMessage(channel=CSCP_CHANNEL, thread_ts=posted[0], text="a reply", metadata=TAG)

    plain = await client.conversations_history(channel=CSCP_CHANNEL)
    assert [m["text"] for m in plain["messages"]] == ["m2", "m1", "m0"]  # replies are not in history
    assert not any("metadata" in m for m in plain["messages"])
    assert plain["messages"][2]["reply_count"] == 1 and plain["has_more"] is False

    tagged = await client.conversations_history(channel=CSCP_CHANNEL, include_all_metadata=True)
    assert [m["metadata"]["event_payload"]["outbox_id"] for m in tagged["messages"]] == [2, 1, 0]

    since_first = await client.conversations_history(channel=CSCP_CHANNEL, oldest=posted[0])
    assert [m["text"] for m in since_first["messages"]] == ["m2", "m1"]  # oldest itself is left out


async def test_history_pages_by_limit_and_cursor(running):
    client = running.bot.app.client
    for n in range(5):
        await client.chat_postMessage(channel=CSCP_CHANNEL, text=f"m{n}")
    first = await client.conversations_history(channel=CSCP_CHANNEL, limit=2)
    assert [m["text"] for m in first["messages"]] == ["m4", "m3"] and first["has_more"] is True
    pages = [
        [m["text"] for m in page["messages"]]
        async for page in await client.conversations_history(channel=CSCP_CHANNEL, limit=2)
    ]
    assert pages == [["m4", "m3"], ["m2", "m1"], ["m0"]]


async def test_replies_are_the_parent_then_the_thread_oldest_first(running):
    client = running.bot.app.client
    parent = (await client.chat_postMessage(channel=CSCP_CHANNEL, text="parent", metadata=TAG))["ts"]
    for n in range(2):
        await client.chat_postMessage(channel=CSCP_CHANNEL, thread_ts=parent, text=f"r{n}")
    thread = await client.conversations_replies(channel=CSCP_CHANNEL, ts=parent, include_all_metadata=True)
    assert [m["text"] for m in thread["messages"]] == ["parent", "r0", "r1"]
    assert thread["messages"][0]["metadata"] == TAG
    assert all(m["thread_ts"] == parent for m in thread["messages"])
    by_a_reply = await client.conversations_replies(channel=CSCP_CHANNEL, ts=thread["messages"][1]["ts"])
    assert [m["text"] for m in by_a_reply["messages"]] == ["parent", "r0", "r1"]
    assert "metadata" not in (await client.conversations_replies(channel=CSCP_CHANNEL, ts=parent))["messages"][0]
    assert await error_of(client.conversations_replies(channel=CSCP_CHANNEL, ts="1.000001")) == "thread_not_found"
    assert await error_of(client.conversations_history(channel="C0NOWHERE")) == "channel_not_found"


async def test_a_direct_message_is_read_by_the_id_conversations_open_gives(running):
    client, teacher = running.bot.app.client, PEOPLE["teacher"].id
    posted = await client.chat_postMessage(channel=teacher, text="hello", metadata=TAG)
    opened = await client.conversations_open(users=teacher)
    assert opened["channel"]["id"] == posted["channel"] != teacher
    history = await client.conversations_history(channel=posted["channel"], include_all_metadata=True)
    assert [(m["text"], m["metadata"]) for m in history["messages"]] == [("hello", TAG)]
    assert await error_of(client.conversations_open(users="U0NOBODY")) == "user_not_found"


async def test_each_kind_of_conversation_needs_its_own_history_scope(running):
    client, standin = running.bot.app.client, running.standin
    dm = (await client.chat_postMessage(channel=PEOPLE["teacher"].id, text="x"))["channel"]
    await client.chat_postMessage(channel="C0PUBLIC", text="x")
    for channel, scope in ((dm, "im:history"), (CSCP_CHANNEL, "groups:history"), ("C0PUBLIC", "channels:history")):
        standin.scopes.discard(scope)
        assert await error_of(client.conversations_history(channel=channel)) == "missing_scope", scope
        standin.scopes.add(scope)
        assert (await client.conversations_history(channel=channel))["ok"]
    standin.scopes.discard("im:write")
    assert await error_of(client.conversations_open(users=PEOPLE["teacher"].id)) == "missing_scope"


async def test_metadata_slack_would_refuse_is_refused(running):
    client = running.bot.app.client
    for metadata in (
        {"event_type": "Not a type!", "event_payload": {}},
        {"event_type": "outbox", "event_payload": "not an object"},
        {"event_payload": {"outbox_id": 1}},
    ):
        assert (
            await error_of(client.chat_postMessage(channel=CSCP_CHANNEL, text="x", metadata=metadata))
            == "invalid_metadata_schema"
        ), metadata
    # Sent as a form, the metadata is a JSON string; a broken one is refused as unreadable.
    broken = client.api_call("chat.postMessage", data={"channel": CSCP_CHANNEL, "text": "x", "metadata": "{nope"})
    assert await error_of(broken) == "invalid_metadata_format"
    assert not running.standin.messages


async def test_an_update_without_metadata_keeps_the_messages_metadata(running):
    client = running.bot.app.client
    ts = (await client.chat_postMessage(channel=CSCP_CHANNEL, text="before", metadata=TAG))["ts"]
    await client.chat_update(channel=CSCP_CHANNEL, ts=ts, text="after")
    [message] = (await client.conversations_history(channel=CSCP_CHANNEL, include_all_metadata=True))["messages"]
    assert (message["text"], message["metadata"]) == ("after", TAG)
