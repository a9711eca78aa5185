import { post } from '../../utils/http'

// The phone number's encrypted data arrives from the component, then the
// page logs in: the seed's order, through a component.
Page({
  onGotPhone(e) {
    const { encryptedData, iv } = e.detail
    wx.login({
      success: (res) => {
        post('/api/phone', { code: res.code, encryptedData, iv })
      }
    })
  }
})
