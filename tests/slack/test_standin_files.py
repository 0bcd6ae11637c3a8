"""The stand-in takes files as Slack's external upload does (what slack_sdk's files_upload_v2 calls), and refuses
what Slack refuses."""

import aiohttp

from tests.slack.conftest import CSCP_CHANNEL, PEOPLE
from tests.slack.test_standin_conversations import error_of


async def test_an_upload_is_an_address_the_bytes_then_a_share_in_one_conversation(running):
    client = running.bot.app.client
    parent = (await client.chat_postMessage(channel=CSCP_CHANNEL, text="the case"))["ts"]
    sent = await client.files_upload_v2(
        content=b"\x00\x01form", filename="form.docx", title="The form", channel=CSCP_CHANNEL, thread_ts=parent
    )
    assert sent["file"]["title"] == "The form"
    [shared] = running.standin.shared_files(CSCP_CHANNEL, thread_ts=parent)
    assert shared["name"] == "form.docx" and running.standin.file_bytes(shared["id"]) == b"\x00\x01form"
    assert [c.method for c in running.standin.calls[-3:]] == [
        "files.getUploadURLExternal",
        "upload",
        "files.completeUploadExternal",
    ]
    replies = await client.conversations_replies(channel=CSCP_CHANNEL, ts=parent)
    assert replies["messages"][1]["files"][0]["title"] == "The form"


async def test_what_slack_refuses_is_refused(running):
    client, standin = running.bot.app.client, running.standin
    parent = (await client.chat_postMessage(channel=CSCP_CHANNEL, text="the case"))["ts"]
    reply = (await client.chat_postMessage(channel=CSCP_CHANNEL, thread_ts=parent, text="a reply"))["ts"]

    async def upload(**where):
        return await client.files_upload_v2(content=b"x", filename="a.txt", title="a", **where)

    assert await error_of(upload(channel="C0NOWHERE")) == "channel_not_found"
    assert await error_of(upload(channel=PEOPLE["teacher"].id)) == "channel_not_found"  # a person, not a chat
    assert await error_of(upload(channel=CSCP_CHANNEL, thread_ts="1.000001")) == "thread_not_found"
    assert await error_of(upload(channel=CSCP_CHANNEL, thread_ts=reply)) == "invalid_thread_ts"
    unknown = client.files_completeUploadExternal(files=[{"id": "F0NOTOURS", "title": "x"}], channel_id=CSCP_CHANNEL)
    assert await error_of(unknown) == "file_not_found"
    # Announced but never uploaded, or uploaded with another length: not shareable.
    announced = await client.files_getUploadURLExternal(filename="b.txt", length=3)
    never = client.files_completeUploadExternal(files=[{"id": announced["file_id"]}], channel_id=CSCP_CHANNEL)
    assert await error_of(never) == "file_not_found"
    async with aiohttp.ClientSession() as session:
        async with session.post(announced["upload_url"], data=b"four") as answer:
            assert answer.status == 400
    assert not standin.shared_files(CSCP_CHANNEL)

    standin.scopes.discard("files:write")
    assert await error_of(upload(channel=CSCP_CHANNEL)) == "missing_scope"
