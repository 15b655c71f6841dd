"""Unit tests of the {{id}} connector's outcome mapping, run natively
against the generated bindings (see README.md)."""

import unittest

from wit_world.imports.model import (
    DeliveryOutcome_Delivered,
    DeliveryOutcome_Failed,
    DeliveryOutcome_Retry,
)

from app import delivery_outcome
from sluice_guest.http import Response


class DeliveryOutcomeTest(unittest.TestCase):
    def test_a_2xx_is_delivered(self):
        self.assertIsInstance(
            delivery_outcome(Response(202, [], b"accepted"), 0), DeliveryOutcome_Delivered
        )

    def test_a_429_retries_after_the_seconds_it_asks_for(self):
        retry = delivery_outcome(Response(429, [("retry-after", "7")], b"slow down"), 0)
        self.assertIsInstance(retry, DeliveryOutcome_Retry)
        self.assertEqual(retry.value.after_seconds, 7)

    def test_a_5xx_retries_and_a_4xx_fails_with_the_remote_error(self):
        self.assertIsInstance(delivery_outcome(Response(503, [], b""), 0), DeliveryOutcome_Retry)
        failure = delivery_outcome(Response(422, [], b"bad field"), 0)
        self.assertIsInstance(failure, DeliveryOutcome_Failed)
        self.assertEqual(failure.value.remote.status, 422)
        self.assertEqual(failure.value.remote.message, "bad field")


if __name__ == "__main__":
    unittest.main()
