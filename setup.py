"""Packaging lives in setup.cfg; this file lets `pip install -e .` and old tools work."""
from setuptools import setup

setup()
