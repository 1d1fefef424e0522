"""The upload pipeline at ``/legacy/``: parse -> validate -> store -> enqueue scan."""
