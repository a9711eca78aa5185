const BASE = 'https://api.example.com'

export function post(path, data) {
  return new Promise((resolve) => {
    wx.request({ url: BASE + path, method: 'POST', data, success: (res) => resolve(res.data) })
  })
}
