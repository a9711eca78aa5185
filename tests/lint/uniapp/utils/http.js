const baseURL = 'https://api.example.com'
function request(method, url, data) {
  return new Promise((resolve, reject) => {
    uni.request({ url: baseURL + url, method, data, success: (res) => resolve(res.data), fail: reject })
  })
}
export default {
  post: (url, data) => request('POST', url, data),
}
