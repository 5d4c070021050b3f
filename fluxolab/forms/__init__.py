"""Public forms: the ``form`` trigger's JSON API (/api/forms/<token>) and HTML page."""
