# A login server with a shop's contract, not wxflow's (pip install cryptography):
#   POST /users/login  {code, encryptedData, iv, rawData, signature}  (JSON or form)
#   success: HTTP 200 {"code": 200, "msg": "ok", "data": {"authorizationToken": ...}}
#   refusal: HTTP 200 {"code": 500, "msg": "..."}
# It is correct: it exchanges the code, checks the signature, decrypts and checks
# the watermark. Start `wxflow mock` first; the README's "Point it at your own
# backend" runs `wxflow init --probe` and the login flows against it.
import base64, hashlib, json, os, secrets, sys, urllib.parse, urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from cryptography.hazmat.primitives import padding
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

MOCK = os.environ.get("WECHAT_API", "http://127.0.0.1:9000")
APPID, SECRET = "wx5e1f0c2b9a7d3e11", "9f8e7d6c5b4a39281706f5e4d3c2b1a0"


def login(f):
    query = urllib.parse.urlencode({"appid": APPID, "secret": SECRET, "js_code": f["code"], "grant_type": "authorization_code"})
    s = json.load(urllib.request.urlopen(f"{MOCK}/sns/jscode2session?{query}", timeout=5))
    if s.get("errcode"):
        raise ValueError(f"jscode2session {s['errcode']}")
    key = s["session_key"]
    if hashlib.sha1((f["rawData"] + key).encode()).hexdigest() != f["signature"]:
        raise ValueError("bad signature")
    aes = Cipher(algorithms.AES(base64.b64decode(key)), modes.CBC(base64.b64decode(f["iv"]))).decryptor()
    unpad = padding.PKCS7(128).unpadder()
    plain = unpad.update(aes.update(base64.b64decode(f["encryptedData"])) + aes.finalize()) + unpad.finalize()
    user = json.loads(plain)
    if user["watermark"]["appid"] != APPID:
        raise ValueError("watermark of another app")
    return {"authorizationToken": secrets.token_urlsafe(24), "nickName": user.get("nickName")}


class Shop(BaseHTTPRequestHandler):
    def do_POST(self):
        if self.path != "/users/login":
            return self.answer(404, {"code": 404, "msg": "not found"})
        body = self.rfile.read(int(self.headers.get("content-length", 0))).decode()
        try:
            if "x-www-form-urlencoded" in self.headers.get("content-type", ""):
                f = {k: v[0] for k, v in urllib.parse.parse_qs(body).items()}
            else:
                f = json.loads(body)
            self.answer(200, {"code": 200, "msg": "ok", "data": login(f)})
        except Exception as e:  # every refusal: HTTP 200, the shop's own code
            self.answer(200, {"code": 500, "msg": f"login failed: {type(e).__name__}"})

    def answer(self, status, doc):
        out = json.dumps(doc).encode()
        self.send_response(status)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(out)))
        self.end_headers()
        self.wfile.write(out)

    def log_message(self, *args):
        pass


port = int(sys.argv[1]) if len(sys.argv) > 1 else 8080
ThreadingHTTPServer(("127.0.0.1", port), Shop).serve_forever()
