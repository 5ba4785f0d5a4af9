"""Tests of llmunified's generator layer."""
