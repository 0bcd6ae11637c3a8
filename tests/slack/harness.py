"""Test settings for driving the bot as Slack would (see bot.standin.client)."""

from bot.standin.client import Reply, SlackSide, fill, slack_signature  # noqa: F401

SIGNING_SECRET = "test-signing-secret-0123456789abcdef"


def FakeSlackClient(bot_url, standin, secret: str = SIGNING_SECRET) -> SlackSide:
    return SlackSide(bot_url, standin, secret)
