"""The query string of the scan history download: a date range, forgiving of bad input."""

from __future__ import annotations

import datetime as dt

from django import forms

DEFAULT_DAYS = 90
EARLIEST = dt.date(1970, 1, 1)  # far-off years would overflow when moved to UTC


class ScanRangeForm(forms.Form):
    """`from` and `to` (YYYY-MM-DD, both included). A missing, malformed or backwards
    range is the last DEFAULT_DAYS days: a download link never turns into an error page."""

    def __init__(self, *args, today: dt.date, **kwargs):
        super().__init__(*args, **kwargs)
        self.today = today
        # "from" is a Python keyword, hence fields added here rather than declared.
        self.fields["from"] = forms.DateField(required=False, input_formats=["%Y-%m-%d"])
        self.fields["to"] = forms.DateField(required=False, input_formats=["%Y-%m-%d"])

    def dates(self) -> tuple[dt.date, dt.date]:
        default = (self.today - dt.timedelta(days=DEFAULT_DAYS), self.today)
        if not self.is_valid():
            return default
        start = self.cleaned_data.get("from") or default[0]
        end = self.cleaned_data.get("to") or default[1]
        if start > end:
            return default
        # Nothing happened before the platform, nor after today (in the customer's zone).
        return max(start, EARLIEST), min(end, self.today)
