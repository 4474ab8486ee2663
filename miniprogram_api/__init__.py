"""Thin JSON views for the WeChat mini-program: parse → domain service → commit → serialize."""
