"""The ftpcode Slack app: turns Slack events into calls on the knowledge core and renders Block Kit."""
