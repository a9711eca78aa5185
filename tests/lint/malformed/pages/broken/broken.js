Page({
  onLoad() {
    const x = {
  },
