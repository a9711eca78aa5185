class Http {
  private base = 'https://api.example.com'
  request(url: string, data: object) {
    return new Promise((resolve) => wx.request({ url: this.base + url, method: 'POST', data, success: (r) => resolve(r.data) }))
  }
  static create() {
    return new Http()
  }
}
export default Http.create()
