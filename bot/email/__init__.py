"""The e-mail front-end: people named only by e-mail are sent the notices flows/notices.py words."""
