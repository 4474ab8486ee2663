"""The platform operator: admins who review merchants and card products."""
