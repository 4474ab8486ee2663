App({
  globalData: {
    /** The last redemption receipt, handed from the cashier's redeem page to the receipt page. */
    receipt: null,
  },
})
