export const promisify = (fn) => (args = {}) =>
  new Promise((resolve, reject) => {
    fn({ ...args, success: resolve, fail: reject })
  })
