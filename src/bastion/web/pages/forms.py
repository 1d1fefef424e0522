"""The search box of the home page."""

from __future__ import annotations

from django import forms


class SearchForm(forms.Form):
    q = forms.CharField(max_length=200, required=False, strip=True, label="Search projects")
