import { wxLogin } from '../../utils/wx'
Page({
  onLoad() {
    wx.login({ success: (r) => wx.request({ url: '/api/session', data: { code: r.code } }) })
  },
  onTap() {
    Promise.all([wxLogin(), wx.getUserProfile({ desc: 'x' })]).then(([l, u]) => {
      wx.request({ url: '/api/login', method: 'POST', data: { code: l.code, encryptedData: u.encryptedData, iv: u.iv } })
    })
  },
})
