"""What the bot tells people, by topic: each outbox message carries one. Named once, used everywhere."""

# Direct messages that carry the case card (kept current in place).
ESCALATION_OPENED = "escalation_opened"
INVITED_TO_TALK = "invited_to_talk"
STAGE_STARTED = "stage_started"
NAME_YOUR_HOLDER = "name_your_holder"
RESOLUTION_PROPOSED = "resolution_proposed"
HANDED_OVER_TO_YOU = "handed_over_to_you"
# Short direct messages (and, where the platform allows, threaded under the person's card).
REMINDER = "reminder"
ACTION_DUE = "action_due"
CHASER = "chaser"
ASKED_TO_ESCALATE = "asked_to_escalate"
PROPOSAL_DECLINED = "proposal_declined"
HANDED_OVER = "handed_over"
HOLDER_NAMED = "holder_named"
CONSULTATION_RECORDED = "consultation_recorded"
SCRUTINEER_INFORMED = "scrutineer_informed"
ESCALATION_RESOLVED = "escalation_resolved"
ESCALATION_WITHDRAWN = "escalation_withdrawn"
EXECUTIVE_DECISION = "executive_decision"
# To the raiser, when someone named only by e-mail would be told something and e-mail is not set up.
CONTACT_BY_HAND = "contact_by_hand"
# The partnership's channel.
REFLECTIVE_CONSULTATION_REQUESTED = "reflective_consultation_requested"
STAGE_OVERDUE = "stage_overdue"
DIGEST = "digest"
DELIVERY_FAILED = "delivery_failed"
# The paperwork, as files: the notification form (the case's partnership thread, or a person who asked), the
# record for a side's file (a person), the themes report (the partnership's channel, or a team member who asked).
DOCUMENT = "document"
REPORT = "report"
# Every copy of the case card and the partnership's post.
CASE_UPDATED = "case_updated"

CARD_TOPICS = frozenset(
    {ESCALATION_OPENED, INVITED_TO_TALK, STAGE_STARTED, NAME_YOUR_HOLDER, RESOLUTION_PROPOSED, HANDED_OVER_TO_YOU}
)
# Outbox audiences.
PERSON, PARTNERSHIP, CARDS = "person", "partnership", "cards"
