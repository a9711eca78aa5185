Page({
  onPhoneCode(e) {
    wx.login({
      success(res) {
        wx.request({ url: '/api/phone', method: 'POST', data: { code: res.code, phoneCode: e.detail.code } })
      },
    })
  },
  onPhoneOld(e) {
    const payload = { encryptedData: e.detail.encryptedData, iv: e.detail.iv }
    wx.login({
      success(res) {
        payload.code = res.code
        wx.request({ url: '/api/phone', method: 'POST', data: payload })
      },
    })
  },
})
