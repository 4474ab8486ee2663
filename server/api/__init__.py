"""The JSON API for staff and platform admins (and WeChat's callbacks): one blueprint per domain.

Views parse, authorise, call one domain function and serialise; the request boundary
(``server.web``) commits once. Nothing below this layer imports it.
"""
