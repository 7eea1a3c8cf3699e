"""How the admin writes times: to the second and year first, as the event log and the API do (Django's English default,
"Dec. 7, 2026, 3:42 p.m.", hides the seconds that order what happened)."""

DATETIME_FORMAT = "Y-m-d H:i:s"
SHORT_DATETIME_FORMAT = "Y-m-d H:i:s"
DATE_FORMAT = "Y-m-d"
SHORT_DATE_FORMAT = "Y-m-d"
TIME_FORMAT = "H:i:s"
