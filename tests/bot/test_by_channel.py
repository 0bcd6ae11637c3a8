"""Messages for no one person (the partnership's channel, card refreshes) go to every chat platform; when one
platform fails, the outbox's retry does not repeat the message on the platforms that already have it."""

from bot.outbox import ByChannel, DeliveryError, Pending
from flows import topics
from flows.people import PersonRef


class Platform:
    def __init__(self, failures: int = 0):
        self.failures, self.delivered = failures, []

    async def deliver(self, message: Pending) -> None:
        if self.failures:
            self.failures -= 1
            raise DeliveryError("503", transient=True)
        self.delivered.append(message.id)


def pending(message_id: int, recipient: PersonRef | None = None) -> Pending:
    return Pending(message_id, topics.STAGE_STARTED, topics.PARTNERSHIP, {}, None, recipient)


async def test_a_retry_after_one_platform_failed_skips_the_platforms_that_have_it():
    teams, slack = Platform(), Platform(failures=1)
    router = ByChannel(slack, {"teams": teams, "slack": slack}, [teams, slack])
    try:
        await router.deliver(pending(7))
        raise AssertionError("Slack's failure must reach the outbox, so it tries again")
    except DeliveryError:
        pass
    await router.deliver(pending(7))
    assert teams.delivered == [7] and slack.delivered == [7]
    await router.deliver(pending(8))
    assert teams.delivered == [7, 8] and slack.delivered == [7, 8]


async def test_a_message_for_a_person_goes_only_to_their_platform():
    teams, slack, email = Platform(), Platform(), Platform()
    router = ByChannel(slack, {"teams": teams, "slack": slack, "email": email}, [teams, slack])
    await router.deliver(pending(1, PersonRef("email", "gp@nhs.net")))
    await router.deliver(pending(2, PersonRef("teams", "aad-1")))
    assert (teams.delivered, slack.delivered, email.delivered) == ([2], [], [1])
