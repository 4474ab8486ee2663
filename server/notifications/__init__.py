"""Consumer notifications (WeChat subscribe messages) sent after commit through an outbox."""
