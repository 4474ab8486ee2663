/** A card as it appears in the wallet: its face, merchant, product and headline figure. */
const format = require('../../utils/format')

Component({
  properties: {
    card: {type: Object, value: null},
  },
  data: {
    view: null,
  },
  observers: {
    card(card) {
      if (!card) {
        this.setData({view: null})
        return
      }
      const product = card.product || {}
      const style = product.style || {}
      this.setData({
        view: {
          merchantName: (card.merchant && card.merchant.name) || '',
          productName: product.name || '',
          kindLabel: format.KIND_LABELS[product.kind] || '',
          cardNo: card.card_no_masked || '',
          headline: format.headline(card),
          statusLabel: card.status && card.status !== 'active' ? format.STATUS_LABELS[card.status] || card.status : '',
          color: style.color || '#3a3a3a',
          faceUrl: card.face_image_url || '',
        },
      })
    },
  },
  methods: {
    onTap() {
      if (this.data.card) this.triggerEvent('select', {cardId: this.data.card.card_id})
    },
  },
})
