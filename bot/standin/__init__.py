"""A stand-in for the Slack Web API on 127.0.0.1: used by the tests and, later, the sandbox.

It records every call and refuses what Slack would refuse (invalid Block Kit, unknown methods,
missing scopes, expired or reused trigger ids).
"""
