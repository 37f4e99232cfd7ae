"""Talking to WeChat: API clients and access tokens, the notification outbox and its delivery
job, follower sync, and the `flask wechat` commands."""
