"""Webmention both ways: endpoint discovery and sending (discovery, send), the h-entry
page of each interaction that is a webmention's source (hentry, pages), and our own
endpoint, where the blog pings and answers (receive). May import: core … net, publish, public.
"""
