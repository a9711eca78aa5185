import { wxLogin } from '@/api/user.js'
export default {
  namespaced: true,
  actions: {
    login({ commit }, payload) {
      return wxLogin(payload).then((data) => commit('SET_TOKEN', data.token))
    },
  },
}
