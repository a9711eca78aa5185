// The request module the seed's page requires: one login call to the team's server.
const BASE = 'https://api.example.com'

function reqLogin(code, encryptedData, iv, rawData, signature, success, fail) {
  wx.request({
    url: BASE + '/api/login',
    method: 'POST',
    data: { code: code, encryptedData: encryptedData, iv: iv, rawData: rawData, signature: signature },
    success: function (res) {
      if (res.statusCode === 200 && res.data && res.data.data && res.data.data.token) {
        success(res)
      } else {
        fail(res)
      }
    },
    fail: fail
  })
}

module.exports = { reqLogin: reqLogin }
