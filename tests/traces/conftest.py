"""Fixtures for the traces tests."""

import pytest
from django.test import Client

from tests.support.server import TEST_TOKEN


@pytest.fixture
def api_client() -> Client:
    """A Django test client that sends the API token."""
    return Client(headers={"Authorization": f"Bearer {TEST_TOKEN}"})
