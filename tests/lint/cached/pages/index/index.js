Page({
  data: { code: '' },
  onLoad() {
    wx.login({
      success: (res) => {
        this.setData({ code: res.code })
      },
    })
  },
  onPhone(e) {
    wx.request({ url: '/api/phone', method: 'POST', data: { code: this.data.code, encryptedData: e.detail.encryptedData, iv: e.detail.iv } })
  },
})
