"""The Microsoft Teams front-end, on Microsoft's Teams SDK for Python (microsoft-teams-apps)."""
