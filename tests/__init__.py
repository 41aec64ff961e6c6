"""Tests of twin; ``tests.reference`` holds the reference implementations they compare against."""
