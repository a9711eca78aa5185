Page({
  onGot(e) {
    const payload = Object.assign({}, e.detail)
    wx.login({ success: (r) => { payload.code = r.code; wx.request({ url: '/api/login', method: 'POST', data: payload }) } })
  },
})
