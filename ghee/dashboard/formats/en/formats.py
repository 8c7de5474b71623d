"""Dates in the dashboard: short and unambiguous ("2026-11-30 09:09"), so list pages fit a
laptop screen. Django's English formats otherwise ("Nov. 30, 2026, 9:09 a.m.")."""

DATETIME_FORMAT = "Y-m-d H:i"
SHORT_DATETIME_FORMAT = "Y-m-d H:i"
DATE_FORMAT = "Y-m-d"
SHORT_DATE_FORMAT = "Y-m-d"
