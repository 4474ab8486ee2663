"""Member cards: card faces, dynamic QR codes and the card lifecycle."""
