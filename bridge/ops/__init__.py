"""The operator's seat: `bridge check` (check), progress bars (progress), followers and
interactions as the CLI and the dashboard share them (followers, interactions), and the
dashboard itself (admin/). May import every subsystem; only the app and the CLI import it.
"""
