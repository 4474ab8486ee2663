/** The member code shown at the counter: the QR image and the 18-digit number beneath it. */
const format = require('../../utils/format')

Component({
  properties: {
    qrUrl: {type: String, value: ''},
    numericCode: {type: String, value: ''},
    loading: {type: Boolean, value: false},
    failed: {type: Boolean, value: false},
  },
  data: {
    groupedCode: '',
  },
  observers: {
    numericCode(code) {
      this.setData({groupedCode: format.groupDigits(code)})
    },
  },
  methods: {
    onRefresh() {
      this.triggerEvent('refresh')
    },
  },
})
