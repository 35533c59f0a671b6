"""The REST API of the appeals app (/api/v1/…): the same selectors and services as the pages."""
