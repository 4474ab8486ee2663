"""WeChat card wallet (微信卡包) sync: a WeChat member card per opted-in product, each consumer's card
linked to its code in WeChat, and balances pushed after commit through an outbox."""
