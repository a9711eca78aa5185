// A promise wrapper around wx.login, as utils/ folders have it.
function wxLogin() {
  return new Promise((resolve, reject) => {
    wx.login({ success: resolve, fail: reject })
  })
}

module.exports = { wxLogin }
