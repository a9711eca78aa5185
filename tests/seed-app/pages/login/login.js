// The seed's page as its report describes it before the fix: the button's
// getUserInfo data (iv, encryptedData, signature, rawData) is kept, then
// wx.login gets the code, then all of it goes to the server.
Page({
  data: {},

  // 点击微信登录
  wechatAction: function(e) {
    // 用户点击授权
    // 先保存获取到的微信用户信息
    const { nickName, avatarUrl } = JSON.parse(e.detail.rawData)
    this.setData({
      nickName: nickName,
      avatarUrl: avatarUrl,
      encryptedData: e.detail.encryptedData,
      iv: e.detail.iv,
      signature: e.detail.signature,
      rawData: e.detail.rawData
    })
    // 获取微信code
    this.reqWechatCode()
  },

  // 微信登录:获取code
  reqWechatCode: function() {
    let that = this
    wx.showLoading({
      title: '获取code',
    })
    wx.login({
      success: function (res) {
        if (res.code) {
          that.wxLoginReq(res.code)
        } else {
          wx.showToast({
            title: '获取code失败,请重试',
            icon: 'none'
          })
        }
        wx.hideLoading()
      }
    })
  },

  // 根据获取到的code 向服务器发送登录请求 获取token
  wxLoginReq: function (code) {
    let that = this
    wx.showLoading({
      title: '获取token中',
    })
    let encryptedData = that.data.encryptedData
    let iv = that.data.iv
    let signature = that.data.signature
    let rawData = that.data.rawData
    var req = require('../../util/Request.js')

    // 请求成功
    let success = function(res) {
      wx.hideLoading()
      // 缓存token
      const { token, user_id } = res.data.data
      let userInfo = {
        token: token,
        user_id: user_id,
        nickName: that.data.nickName,
        avatarUrl: that.data.avatarUrl
      }
      getApp().setUserInfo(userInfo)
      // 同步用户信息
      getApp().loginSuccess(function () {
        wx.navigateBack({})
      })
    }

    // 请求失败
    let fail = function(res) {
      wx.hideLoading()
      wx.showToast({
        title: '获取token失败,请重试',
        icon: 'none'
      })
    }
    // 登录请求
    req.reqLogin(code, encryptedData, iv, rawData, signature, success, fail)
  }
})
