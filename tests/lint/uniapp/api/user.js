import http from '@/utils/http'
export const wxLogin = (data) => http.post('/auth/wx-login', data)
