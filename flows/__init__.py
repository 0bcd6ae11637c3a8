"""The escalation process itself: policy, working-day calendar, case lifecycle.

Knows nothing of Slack or Teams; front-ends call these plain functions.
"""
