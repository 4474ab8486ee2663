"""Consumers: WeChat users who hold cards."""
