// A phone button as a custom component: it hands the event's detail to the page.
Component({
  properties: { label: { type: String, value: '手机号登录' } },
  methods: {
    onPhone(e) {
      this.triggerEvent('got', e.detail)
    }
  }
})
