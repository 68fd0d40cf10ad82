"""The demo newsroom: invented people, stories and pictures for `manage.py demo`."""
