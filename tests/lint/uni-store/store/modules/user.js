export default {
  namespaced: true,
  actions: {
    async login(context, userProfile) {
      const { code } = await uni.login()
      return uni.$http.post('/api/login', { code, encryptedData: userProfile.encryptedData, iv: userProfile.iv })
    },
  },
}
