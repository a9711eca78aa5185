const { wxLogin } = require('../../utils/auth.js')
import { post } from '../../utils/api'

Page({
  data: {},
  onGotUserInfo(e) {
    const { encryptedData, iv } = e.detail
    wxLogin().then((res) => {
      return post('/user/login', { code: res.code, encryptedData, iv })
    }).then((data) => {
      wx.setStorageSync('token', data.data.token)
    })
  }
})
