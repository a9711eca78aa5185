// A promise wrapper around wx.request, as utils/ folders have it.
function post(path, data) {
  return new Promise((resolve, reject) => {
    wx.request({
      url: 'https://shop.example.com' + path,
      method: 'POST',
      data,
      success: (res) => resolve(res.data),
      fail: reject
    })
  })
}
module.exports = { post }
