"""Tests of llmunified's transports layer."""
